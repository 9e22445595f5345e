"""The "how to read this" text for teachers (shown on the Lab page and on its own page)."""

SHORT_GUIDE = """
- **Loss** — lower is better. *NLL per time step* is how surprised a model is by the next
  frame, in nats, summed over the 88 keys. Thin lines: training batches; thick lines with dots:
  the validation pieces, which the models never train on. Switch the x axis to *seconds* to
  compare per unit of compute instead of per update (the paper's Figure 2).
- **Gates** — one column per model; time runs left to right, one row per unit. A gate is a
  number between 0 (dark) and 1 (bright) that scales what flows through it:
  the LSTM's **f** near 1 keeps the cell's memory, **i** lets new input in, **o** lets the cell
  show; the GRU's **z** is the share of the new candidate (near 0: keep the old state), **r**
  says how much of the old state the candidate may read. The tanh RNN has no gates: every step
  overwrites its whole state **h** (blue −1 … red +1).
- **Cell states** — a few units over time (LSTM: the cell **c**, which is not squashed and can
  grow; GRU and tanh: **h**), and the whole state as a path through its two main directions
  (PCA); repeating music gives a path that returns to the same places.
- **Prediction** — blue: the probability each model gives each key; red squares: the notes
  that really came. The strip below: each step's NLL per model. Where one strip is darker than
  another, that unit predicted those steps better — often just after a repeated pattern, where
  remembering helps.
- Step **t** has read frames 0..t−1 (a silent frame first) and predicts frame t.
"""

FULL_GUIDE = SHORT_GUIDE + """

### A lesson in four clicks
1. Press **Play** with the defaults (built-in chorales, three models of ~20k parameters each).
   Watch the loss curves fall; after a minute the gated units usually sit below the tanh RNN.
2. Open **Gates**, pick a piece, and look for LSTM forget-gate units that stay bright through
   a phrase, or GRU update-gate units that stay dark (they hold their state).
3. Switch the dataset to the **long-memory task**: a motif has to be remembered for 30 steps.
   In **Prediction**, only a unit that kept the motif predicts its return.
4. Raise the learning rate to 1 or more: updates diverge, the page says so, and the last good
   weights are restored.

### Fair comparisons
All models see the same batches in the same order and have about the same number of
parameters (the sidebar shows the exact counts). Seconds are each model's own training time.
The *torch* variant uses PyTorch's equations (fast); *paper* uses the equations printed in
Chung et al. 2014 — the equations panel on the Lab page shows both.
"""
