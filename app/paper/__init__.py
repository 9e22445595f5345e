"""The paper page: Table 2 and Figure 2 reproduced (``results``), the page's words and formats
(``words``), and their widgets (``views``); ``<page>.py`` puts them in order.
"""
