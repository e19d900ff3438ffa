"""Implementation of the bundled training package's entry point (``train.py``).

Everything here runs inside the Hugging Face training containers and as a local
subprocess; it imports nothing from ``hf_sagemaker_tuning``.
"""
