"""What is trained: the SRTD encoders and their losses, the offline RL learners (TD3+BC, CQL), augmentation, and
the methods built from them."""
