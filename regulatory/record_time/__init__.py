"""Record time: the record as the tracker showed it at a past moment R
(`?recorded_as_of=YYYY-MM-DD[THH:MM]`), so that a citation is reproducible.

Decisions are rebuilt from their Change history: every publish, amendment,
correction and retraction wrote one, with its field diff (a publish diff
holds every field as [None, value]), so replaying the diffs recorded by R
gives each decision as it stood then, and a decision with no Change by R
did not exist then. A correction recorded after R does not alter what was
shown at R.

Programmes, baselines, jurisdictions (their review dates) and sources have
no Change: their simple-history tables say what they were at R. An object
whose history has no row after R is used as it is now (so values written
with `QuerySet.update()`, which leaves no history row, are kept); one with a
later row takes its values at R; one first recorded after R (or deleted by
R) is left out. Coverage (a many-to-many without history) is today's.

The cells are then built by the same rule as today's (`selectors.cells_assemble`)
from these facts, in a fixed number of queries whatever the size of the data.
"""

from regulatory.record_time.decision_page import _PAGE_FIELDS as _PAGE_FIELDS
from regulatory.record_time.decision_page import decision_page_recorded as decision_page_recorded
from regulatory.record_time.grid import RecordedAsOfField as RecordedAsOfField
from regulatory.record_time.grid import status_grid as status_grid
from regulatory.record_time.grid import status_rows as status_rows
from regulatory.record_time.parsing import _RECORDED_RE as _RECORDED_RE
from regulatory.record_time.parsing import PARAM as PARAM
from regulatory.record_time.parsing import BadRecordTime as BadRecordTime
from regulatory.record_time.parsing import RecordTime as RecordTime
from regulatory.record_time.parsing import first_record_at as first_record_at
from regulatory.record_time.parsing import recorded_as_of_parse as recorded_as_of_parse
from regulatory.record_time.replay import _BASELINE_FIELDS as _BASELINE_FIELDS
from regulatory.record_time.replay import _JURISDICTION_FIELDS as _JURISDICTION_FIELDS
from regulatory.record_time.replay import _PROGRAMME_FIELDS as _PROGRAMME_FIELDS
from regulatory.record_time.replay import _STATE_AFTER as _STATE_AFTER
from regulatory.record_time.replay import REPLAYED_FIELDS as REPLAYED_FIELDS
from regulatory.record_time.replay import RecordedDecision as RecordedDecision
from regulatory.record_time.replay import _date as _date
from regulatory.record_time.replay import _grades_recorded as _grades_recorded
from regulatory.record_time.replay import _history_rows as _history_rows
from regulatory.record_time.replay import _latest_recorded as _latest_recorded
from regulatory.record_time.replay import _overlay as _overlay
from regulatory.record_time.replay import decisions_recorded as decisions_recorded
from regulatory.record_time.replay import facts_recorded as facts_recorded
from regulatory.record_time.replay import jurisdictions_recorded as jurisdictions_recorded
