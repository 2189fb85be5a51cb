"""The Streamlit side of HyperFusion Studio: the only package that imports streamlit.

Pages stay thin: they import the modules they use and call them for state, widgets
and rendering, and the engine for numbers. Nothing is re-exported here.

- :mod:`~hyperfusion.ui.state`: session state (current subject, upload, EHR record);
- :mod:`~hyperfusion.ui.cached`: the shared engine and every cached engine call;
- :mod:`~hyperfusion.ui.editors`: the EHR editor, its reset and scenario B;
- :mod:`~hyperfusion.ui.widgets`: the subject picker and the other input widgets;
- :mod:`~hyperfusion.ui.outputs`: how the tasks' outputs are named and read;
- :mod:`~hyperfusion.ui.panels`: rendering of predictions, QC, maps and tables;
- :mod:`~hyperfusion.ui.maps`: the Explain page's map methods, their measured
  quality and the map over the scan at its own resolution;
- :mod:`~hyperfusion.ui.scrub`: cached sweeps and the figure the browser scrubs;
- :mod:`~hyperfusion.ui.downloads`: the download buttons;
- :mod:`~hyperfusion.ui.page`: page header, disclaimer, sidebar, error boundary;
- :mod:`~hyperfusion.ui.link`: the shareable link (example and EHR edits in the
  query parameters);
- :mod:`~hyperfusion.ui.navigation`: the entry's ``st.navigation`` over ``pages/``.
"""
