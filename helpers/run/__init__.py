"""Where runs are orchestrated: the notebooks' one-line setup, the papermill pipeline, and what a
run is presented as: its findings, the HTML report and the slide deck."""
