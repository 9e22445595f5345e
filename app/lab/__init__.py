"""The Lab page: the setup in the sidebar (``controls``), the live numbers, loss chart, gates,
states and prediction (``views``); ``<page>.py`` puts them in order.
"""
