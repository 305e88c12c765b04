"""Models: the ladder we train on CPU, and back-ends for families users already have."""
