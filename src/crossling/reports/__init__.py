"""Reports: results files, prediction files, tables and plots."""
