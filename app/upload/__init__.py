"""The Your-own-music page: the choices (``inputs``), the logic without widgets (``data``), the
charts, downloads and sampling (``views``); ``<page>.py`` puts them in order.
"""
