"""The compiler's use of the second core: forked workers that share `converge check`,
`compile` and `diff` with the main process.

`check_worker` loads part of the files and parses all PromQL while the parent validates;
`render_worker` renders and writes part of a bundle (or a whole side of a diff) aside.
Each falls back to doing the work in the calling process when the worker fails.
"""
