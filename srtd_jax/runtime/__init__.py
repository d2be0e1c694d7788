"""Running a training job: config checks, workdirs, checkpoints, the chunk loop, reporting."""
