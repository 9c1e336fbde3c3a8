"""skml's benchmark: multi-label methods on standard data sets, ``python -m benchmarks``.

Modules, one job each:

- :mod:`benchmarks.__main__`: the command line;
- :mod:`benchmarks.contenders`: one factory per method (the gradient-boosting ones in
  :mod:`benchmarks.gbdt`);
- :mod:`benchmarks.data`: the data sets and their fixed splits, and generated problems;
- :mod:`benchmarks.protocols`: splits, seeds, metrics and one timed run;
- :mod:`benchmarks.report`: environment, CSV, markdown table, charts and the report files;
- :mod:`benchmarks.estimators`, :mod:`benchmarks.mlknn`: estimators the contenders need.

Side benchmarks, each a command of its own that reuses the modules above:

- :mod:`benchmarks.speed`: speed and memory of skml, scikit-learn and scikeras on one network
  (``python -m benchmarks.speed``), measured by :mod:`benchmarks.speed_measure`;
- :mod:`benchmarks.imbalance`: skml's imbalance variants (``python -m benchmarks.imbalance``);
- :mod:`benchmarks.resolution`: how finely a test split resolves the difference between two
  methods, by a paired bootstrap of its rows (``python -m benchmarks.resolution``);
- :mod:`benchmarks.defaults`: candidate defaults on the development suite
  (``python -m benchmarks.defaults``);
- :mod:`benchmarks.memory`: resident memory over a grid search's fits;
- :mod:`benchmarks.sparse_memory`: memory of fitting a large sparse matrix;
- :mod:`benchmarks.out_of_core`: training on a Dask array larger than memory.

:mod:`benchmarks._rss` reads the resident memory for the memory benchmarks.
"""
