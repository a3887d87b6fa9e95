"""Attribution: every standard model on the same journeys, tied to revenue.

Where things live:

- :mod:`~acctlib.attribution.settings`: models, parameters, labels;
- :mod:`~acctlib.attribution.journeys`: windows, touch assignment, order;
- :mod:`~acctlib.attribution.allocation`: the cent-exact largest-remainder rule;
- :mod:`~acctlib.attribution.heuristics`: rule-based weights in the engine;
- :mod:`~acctlib.attribution.markov`, :mod:`~acctlib.attribution.shapley`,
  :mod:`~acctlib.attribution.datadriven`: learned channel weights;
- :mod:`~acctlib.attribution.credits`: the whole run, "No recorded touch";
- :mod:`~acctlib.attribution.compare`: shares, agreement, windows,
  intervals, coverage and the reconciliation bridge;
- :mod:`~acctlib.attribution.prepare`: the workspace prepare step;
- :mod:`~acctlib.attribution.report`: tables, charts and highlights.
"""
