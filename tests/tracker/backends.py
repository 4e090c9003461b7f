"""An email backend whose failures a test scripts, per recipient."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from django.core.mail.backends.base import BaseEmailBackend


class ScriptedBackend(BaseEmailBackend):
    """Raises, for a recipient, the exceptions queued in `failures[address]`
    (one per attempt, in order); otherwise records the message in `sent`.
    `during_send[address]` runs while that recipient's message is "on the
    wire" (e.g. to let time pass or another worker act meanwhile)."""

    failures: ClassVar[dict[str, list[BaseException]]] = {}
    during_send: ClassVar[dict[str, Callable[[], None]]] = {}
    open_failures: ClassVar[list[BaseException]] = []
    sent: ClassVar[list] = []
    opened: ClassVar[int] = 0

    @classmethod
    def reset(cls) -> None:
        cls.failures, cls.open_failures, cls.sent, cls.opened = {}, [], [], 0
        cls.during_send = {}

    def open(self) -> bool:
        if self.open_failures:
            raise self.open_failures.pop(0)
        type(self).opened += 1
        return True

    def close(self) -> None:
        pass

    def send_messages(self, email_messages) -> int:
        for message in email_messages:
            if hook := self.during_send.pop(message.to[0], None):
                hook()
            queued = self.failures.get(message.to[0])
            if queued:
                raise queued.pop(0)
            message.message()  # render headers as SMTP would (raises on bad headers)
            self.sent.append(message)
        return len(email_messages)
