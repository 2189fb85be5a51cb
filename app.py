"""HyperFusion Studio: the entry script (``streamlit run app.py``).

It sets the page config once, restores the patient from a shared link and runs
the chosen page of ``pages/`` (the Patient page first); see
:mod:`hyperfusion.ui.navigation`.
"""

from __future__ import annotations

from hyperfusion.ui import navigation

navigation.run()
