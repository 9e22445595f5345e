"""The class board page (``board.py``, behind the teacher's key): its widgets (``views``); what it
reads, the class as this server knows it: ``app.classroom``.
"""
