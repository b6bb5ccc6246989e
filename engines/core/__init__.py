"""Engine protocol, configs, frames, runner, run store, device choice."""
