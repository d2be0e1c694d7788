"""Studies built on runs: sweeps, tables and figures, the paper's numbers, embedding maps, relabel and imagination
studies."""
