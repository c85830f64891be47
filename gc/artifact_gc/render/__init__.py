"""Everything a person reads: rich tables, jinja2 reports, SVG charts, summaries."""
