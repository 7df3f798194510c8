"""Spend under control: what each job cost (the ledger), what a job about to start will cost
(estimates), the budgets and limits the rules hold starts to, notices when a budget runs low, and
the usage page with its chart and CSV export.

- `rates.py`: a provider's report (an amount in its own unit) in the studio's currency.
- `estimates.py`: what a job will cost, learnt from the model's recent jobs of similar length.
- `ledger.py`: each job's cost on its row, and the per-day totals kept with every change;
  `signals.py` counts every new job and saved track, whichever path made it.
- `budgets.py`: periods, limits and what has been spent against them (one query); the rules
  that refuse a start are in studio/rules.py.
- `notices.py`: the owner told at 80 % and 100 % of the project's monthly budget.
- `usage.py`, `chart.py`, `ledger_csv.py`, `views.py`, `forms.py`, `services.py`: the usage page,
  its chart and CSV, the owner's budget and limits, the estimate on the generate form.
- `wording.py`: money and cost lines as the pages say them; `checks.py`: startup checks.
"""
