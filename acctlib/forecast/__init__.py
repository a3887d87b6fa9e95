"""Bookings forecasts with ranges, backtested on the company's own history.

Modules, one concept each:

- :mod:`~acctlib.forecast.periods`: forecast windows and monthly series;
- :mod:`~acctlib.forecast.state`: what was known on one date;
- :mod:`~acctlib.forecast.pipeline`: stage-weighted pipeline and the
  forecast-category roll-up;
- :mod:`~acctlib.forecast.accounts`: probabilities by tier and stage, plus
  expected expansion and renewal from customers;
- :mod:`~acctlib.forecast.winprob`: the logistic win-probability model and
  its calibration table;
- :mod:`~acctlib.forecast.timeseries`: ETS and SARIMAX on monthly bookings;
- :mod:`~acctlib.forecast.ranges`: P10, P50 and P90 by seeded simulation;
- :mod:`~acctlib.forecast.methods`: every method on one date;
- :mod:`~acctlib.forecast.backtest`: past month-ends rebuilt and scored;
- :mod:`~acctlib.forecast.prepare`: the prepare step and its tables;
- :mod:`~acctlib.forecast.views`: the notebook's tables and charts and
  :func:`executive_highlights`.
"""
