//! Planning a job: source → tables → chunks → engines ([`build_plan`]), and
//! the plan in the checkpoint store ([`persist_plan`], [`load_plan`]).

mod build;
mod engines;
mod persist;
pub mod ranges;

pub use build::{build_plan, build_plan_with_ids, Plan, PlannedTable};
pub use engines::{group_into_engines, PlannedEngine};
pub use persist::{load_plan, persist_plan, StoredPlan};
