"""The model card and the model comparison as data (layer 5, no Streamlit).

- :mod:`~hyperfusion.modelcard.measured`: ``weights/metrics.json``, read through
  :mod:`hyperfusion.evaluate.schema` (metrics tables, confusion matrices,
  reliability bins, acceptance).
- :mod:`~hyperfusion.modelcard.card`: cohort, class proportions, training settings
  from the checkpoint cards, the preprocessing contract and the card's texts.
- :mod:`~hyperfusion.modelcard.compare`: every model's prediction for one patient,
  with and without some EHR fields.
"""
