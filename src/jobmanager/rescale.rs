//! In-place rescaling through the adaptive scheduler's resource requirements
//! (`GET`/`PUT /jobs/<id>/resource-requirements`, Flink 1.18 and later): the vertices that run at
//! the old default parallelism get the new one as their upper bound (vertices whose parallelism
//! the job's code set keep theirs), then the wait lasts until Flink runs each of them at it with
//! every task RUNNING. Only a JobManager under `jobmanager.scheduler: adaptive` takes the
//! requirements; any other refuses them with its reason.

use super::answers::job_status;
use super::client::{refused, JobManager, Reach};
use super::{Call, Error, Limit};
use serde_json::{json, Map, Value as Json};
use std::time::Instant;

/// The requirements that move every vertex bounded at `from` to `to` (lower bound 1, so the job
/// keeps running with fewer slots while TaskManagers come or go); `None` when no vertex is at
/// `from`.
pub fn rescaled_requirements(current: &Json, from: u32, to: u32) -> Option<Json> {
    let vertices = current.as_object()?;
    let mut changed = false;
    let mut next = Map::new();
    for (vertex, requirement) in vertices {
        let upper = requirement["parallelism"]["upperBound"].as_u64();
        let mut requirement = requirement.clone();
        if upper == Some(u64::from(from)) {
            requirement["parallelism"] = json!({"lowerBound": 1, "upperBound": to});
            changed = true;
        }
        next.insert(vertex.clone(), requirement);
    }
    changed.then_some(Json::Object(next))
}

/// The vertices of `job` (Flink's job details) that do not yet run at their upper bound in
/// `requirements` with all their tasks RUNNING, as "name at 1 of 2 (DEPLOYING)"; empty once the
/// job runs as required.
pub fn behind(job: &Json, requirements: &Json) -> Vec<String> {
    let Some(vertices) = job["vertices"].as_array() else {
        return vec!["no vertices in the job's details".into()];
    };
    vertices
        .iter()
        .filter_map(|vertex| {
            let id = vertex["id"].as_str()?;
            let wanted = requirements[id]["parallelism"]["upperBound"].as_u64()?;
            let runs = vertex["parallelism"].as_u64().unwrap_or(0);
            let status = vertex["status"].as_str().unwrap_or("unknown");
            (runs != wanted || status != "RUNNING").then(|| {
                let name = vertex["name"].as_str().unwrap_or(id);
                format!("{name} at {runs} of {wanted} ({status})")
            })
        })
        .collect()
}

impl<R: Reach> JobManager<R> {
    fn requirements_path(&self) -> String {
        format!("/jobs/{}/resource-requirements", self.job_id)
    }

    /// Moves the vertices at parallelism `from` to `to`; the requirements sent (`None` when no
    /// vertex was at `from`: nothing to do).
    pub async fn rescale(&self, from: u32, to: u32) -> Result<Option<Json>, Error> {
        let path = self.requirements_path();
        let current = match self.get(&path).await? {
            (200, current) => current,
            (code, body) => return Err(refused("GET", path, code, &body)),
        };
        let Some(next) = rescaled_requirements(&current, from, to) else {
            return Ok(None);
        };
        let call = Call {
            method: "PUT",
            path: &path,
            body: Some(&next),
        };
        match self.call(call).await? {
            (200..=299, _) => Ok(Some(next)),
            (code, body) => Err(refused("PUT", path, code, &body)),
        }
    }

    /// Waits until the job runs every vertex at its upper bound in `requirements`, every task
    /// RUNNING. The adaptive scheduler rescales after its cooldown since the job (or its last
    /// rescale) started and, from Flink 2.0, at the next checkpoint: the wait allows for both.
    pub async fn wait_for_requirements(
        &self,
        requirements: &Json,
        limit: &Limit,
    ) -> Result<(), Error> {
        let started = Instant::now();
        loop {
            let last = match self.job().await {
                Ok((200, job)) => {
                    let state = job_status(&job).unwrap_or_default();
                    if super::is_terminal(&state) {
                        return Err(Error::Failed(format!(
                            "the job ended {state} while Flink rescaled it"
                        )));
                    }
                    let behind = behind(&job, requirements);
                    if behind.is_empty() {
                        return Ok(());
                    }
                    behind
                }
                Ok((code, body)) => vec![refused("GET", self.job_path(), code, &body).to_string()],
                Err(e) => vec![e.to_string()],
            };
            if started.elapsed() >= limit.duration {
                return Err(Error::Failed(format!(
                    "Flink did not run the job at its new parallelism {}: {}",
                    limit.within(),
                    last.join(", ")
                )));
            }
            tokio::time::sleep(self.poll).await;
        }
    }

    fn job_path(&self) -> String {
        format!("/jobs/{}", self.job_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_vertices_at_the_old_default_move() {
        let current = json!({
            "a": {"parallelism": {"lowerBound": 1, "upperBound": 1}},
            "b": {"parallelism": {"lowerBound": 1, "upperBound": 4}},
        });
        let next = rescaled_requirements(&current, 1, 2).unwrap();
        assert_eq!(next["a"]["parallelism"]["upperBound"], 2);
        assert_eq!(next["a"]["parallelism"]["lowerBound"], 1);
        assert_eq!(next["b"], current["b"]);
        assert!(rescaled_requirements(&current, 3, 2).is_none());
    }

    #[test]
    fn a_vertex_is_behind_until_it_runs_at_its_bound() {
        let requirements = json!({"a": {"parallelism": {"lowerBound": 1, "upperBound": 2}}});
        let job = |parallelism: u64, status: &str| json!({"vertices": [{"id": "a", "name": "numbers", "parallelism": parallelism, "status": status}]});
        assert_eq!(
            behind(&job(1, "RUNNING"), &requirements),
            ["numbers at 1 of 2 (RUNNING)"]
        );
        assert_eq!(
            behind(&job(2, "DEPLOYING"), &requirements),
            ["numbers at 2 of 2 (DEPLOYING)"]
        );
        assert!(behind(&job(2, "RUNNING"), &requirements).is_empty());
    }
}
