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
