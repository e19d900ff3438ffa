"""Test suites shipped with the library (as optuna ships its storage tests): run them on your own backend."""
