"""GateLab core: recurrent units, exact gate traces, training, data. Never imports streamlit."""
