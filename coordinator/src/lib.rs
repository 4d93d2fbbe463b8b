//! Coordinator: plan, schedule, detect duplicates, resolve, verify.
