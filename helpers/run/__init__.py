"""Where runs are orchestrated: the notebooks' one-line setup, the papermill pipeline and the HTML
report."""
