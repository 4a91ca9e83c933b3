"""Speech adapters: pocketsphinx recognition, espeak-ng prompts, hearing callers over ARI."""
