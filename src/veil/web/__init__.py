"""Server-rendered UI: views per feature, Jinja2 templates, a stylesheet and a little JS."""
