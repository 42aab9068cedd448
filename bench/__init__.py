"""Benchmarks of the generated bindings; run each as a module from the project root."""
