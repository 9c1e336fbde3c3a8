"""skml's benchmark: multi-label methods on standard data sets, ``python -m benchmarks``.

Modules, one job each:

- :mod:`benchmarks.__main__`: the command line;
- :mod:`benchmarks.contenders`: one factory per method;
- :mod:`benchmarks.data`: the data sets and their fixed splits;
- :mod:`benchmarks.protocols`: splits, seeds, metrics and one timed run;
- :mod:`benchmarks.report`: CSV, markdown table and charts;
- :mod:`benchmarks.estimators`, :mod:`benchmarks.mlknn`: estimators the contenders need;
- :mod:`benchmarks.speed`: speed and memory of skml, scikit-learn and scikeras on one network
  (``python -m benchmarks.speed``).
"""
