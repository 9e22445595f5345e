"""The Gate tools page: the tools' logic without widgets (``data``), the equation stepper's lines
(``stepper``) and the widgets (``views``); ``<page>.py`` puts them in order.
"""
