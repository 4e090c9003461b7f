"""Reads and geometry for the analysts' HTML pages, one module per job:

- `parameters`: each page's query string, checked (`BadParameter` → 400);
- `jurisdictions`: the order every page lists jurisdictions in;
- `matrix`: the status matrix on the home page;
- `timeline`: /timeline/, built from `chart` (the SVG lanes, bands and
  marks) on `scale` (the time axis with its breaks);
- `decision`: a decision's page, with its Change diffs as readable rows;
- `programmes`: access programmes grouped by jurisdiction.

The views stay thin: they hand the query string to a `*_params_parse`
function, then call one `*_build` function.
"""
