// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";

  // Timeline: pointing at a decision in the list lights up its marks in the
  // chart, and pointing at a mark lights up its entry in the list.
  var chart = document.querySelector(".timeline-chart");
  if (chart) {
    var marksFor = function (id) {
      return chart.querySelectorAll('.mark[data-decision="' + id + '"]');
    };
    var itemFor = function (id) {
      return document.getElementById("decision-" + id);
    };
    var setHighlight = function (id, on) {
      marksFor(id).forEach(function (mark) { mark.classList.toggle("is-highlighted", on); });
      var item = itemFor(id);
      if (item) { item.classList.toggle("is-highlighted", on); }
    };
    document.querySelectorAll(".decision-item[data-decision]").forEach(function (item) {
      var id = item.getAttribute("data-decision");
      item.addEventListener("mouseenter", function () { setHighlight(id, true); });
      item.addEventListener("mouseleave", function () { setHighlight(id, false); });
      item.addEventListener("focusin", function () { setHighlight(id, true); });
      item.addEventListener("focusout", function () { setHighlight(id, false); });
    });
    chart.querySelectorAll(".mark[data-decision]").forEach(function (mark) {
      var id = mark.getAttribute("data-decision");
      mark.addEventListener("mouseenter", function () { setHighlight(id, true); });
      mark.addEventListener("mouseleave", function () { setHighlight(id, false); });
      mark.addEventListener("focus", function () { setHighlight(id, true); });
      mark.addEventListener("blur", function () { setHighlight(id, false); });
    });
  }
})();

// Timeline on a phone: the chart is wider than the screen and scrolls
// sideways; open it at its right end, the recent years, where readers look
// first (unless the reader has already scrolled it).
(function () {
  "use strict";
  document.querySelectorAll(".chart-scroll").forEach(function (scroller) {
    if (scroller.scrollWidth > scroller.clientWidth && scroller.scrollLeft === 0) {
      scroller.scrollLeft = scroller.scrollWidth - scroller.clientWidth;
      scroller.classList.add("chart-scroll--at-recent");
    }
  });
})();

// "Cite this": a Copy button beside the permalink, the APA text, BibTeX and
// CSL-JSON; and the matrix's "Print or save as PDF" button. Both need script,
// so both stay hidden (or absent) without it.
(function () {
  "use strict";
  var copy = function (text, button) {
    var done = function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, function () {});
    }
  };
  document.querySelectorAll("[data-cite] [data-copy-source]").forEach(function (source) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button button--quiet cite-box__copy";
    button.textContent = "Copy";
    button.addEventListener("click", function () {
      copy(source.value !== undefined && source.tagName === "INPUT" ? source.value : source.textContent, button);
    });
    // Beside the block's label when it has one, else after the field.
    var label = source.previousElementSibling;
    if (label && label.classList.contains("cite-box__label")) {
      label.appendChild(button);
    } else {
      source.insertAdjacentElement("afterend", button);
    }
  });
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
})();
