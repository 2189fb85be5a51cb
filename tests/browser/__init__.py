"""Browser tests: the Streamlit app served for real and driven by chromium."""
