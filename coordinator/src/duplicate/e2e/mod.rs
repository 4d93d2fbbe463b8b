//! End-to-end conflict tests against an in-process tikv-sim.

mod dataset;
mod fixture;
mod tests;
