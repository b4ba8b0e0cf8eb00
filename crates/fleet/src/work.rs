//! Working a wave: workers lease changes from the store, move each as far
//! as it goes without a person, and give it back.
//!
//! Leasing is what lets work spread: the threads of `tern run`, and any
//! number of `tern worker` processes on other machines sharing a PostgreSQL
//! catalog, take changes from the same waves without ever holding the same
//! one. A lease is renewed by a heartbeat while its change is worked on and
//! lapses when its worker dies, so another picks the change up; every step
//! of a change is idempotent (see `run.rs`), so picking up half-done work is
//! safe. Limits (`max_in_flight`, `per_hour`) and the error budget are
//! counted in the store, so they hold across every worker.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tern_catalog::{now, ChangeState, MigrationState};
use tern_rewrite::Engine;
use tern_spec::{Approval, Spec};

use crate::resolve::{campaign_rules, stored_spec};
use crate::rollout::{budget_exceeded, in_window, IN_FLIGHT};
use crate::{Fleet, FleetError, Progress, Result};

/// How long a lease lasts without renewal. A heartbeat renews it every
/// third of that while the change is worked on, so a dead worker's change
/// waits at most this long. `TERN_LEASE_SECS` overrides it.
const LEASE: Duration = Duration::from_secs(30);

/// How often a waiting runner looks again at changes others hold.
const POLL: Duration = Duration::from_millis(200);

/// How long an approved change whose forge checks still run is left alone
/// before its worker asks again. `TERN_CHECKS_POLL_SECS` overrides it.
const CHECKS_POLL: Duration = Duration::from_secs(15);

fn secs(var: &str, default: Duration) -> i64 {
    std::env::var(var)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|s| *s > 0)
        .unwrap_or(default.as_secs() as i64)
}

fn lease_secs() -> i64 {
    secs("TERN_LEASE_SECS", LEASE)
}

/// States in which a change has work tern can do without a person.
pub(crate) fn workable(approval: Approval) -> Vec<ChangeState> {
    let mut s = vec![
        ChangeState::Planned,
        ChangeState::Patched,
        ChangeState::Verifying,
        ChangeState::Approved,
    ];
    if approval == Approval::Auto {
        s.push(ChangeState::Open);
    }
    s
}

/// This host's name, for worker ids.
pub(crate) fn host() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// `host:pid:thread`: who holds a lease.
fn worker_id(thread: usize) -> String {
    format!("{}:{}:{thread}", host(), std::process::id())
}

/// The host and process id a worker id (`host:pid:thread`) names.
pub(crate) fn process_of(owner: &str) -> Option<(&str, u32)> {
    let mut parts = owner.rsplitn(3, ':');
    let (_, pid, host) = (parts.next(), parts.next(), parts.next());
    Some((host?, pid?.parse().ok()?))
}

/// True when a worker id names this very process (one of its threads).
fn this_process(owner: &str) -> bool {
    process_of(owner).is_some_and(|(h, pid)| pid == std::process::id() && h == host())
}

/// True when a worker id names a process of this host that no longer runs.
pub(crate) fn dead_here(owner: &str, here: &str) -> bool {
    let Some((h, pid)) = process_of(owner) else {
        return false;
    };
    if h != here || pid == std::process::id() {
        return false;
    }
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only asks whether the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

/// What working one leased change came to.
enum Worked {
    /// It moved on (or came to rest); the consumer's id.
    Moved(String),
    /// It waits on something outside (its forge's checks) and is held back.
    Waiting,
}

/// Shared state of one process's workers on one wave.
pub(crate) struct Limits {
    /// Consumers whose proposal this process has allowed and is making:
    /// until their commit is stored, the store's in-flight count misses
    /// them. Checked and filled under this one lock, so this process's
    /// threads never pass a limit together.
    reserved: Mutex<HashSet<String>>,
    /// Why the wave stopped early.
    stop: Mutex<Option<String>>,
    /// A catalog failure: stops everything.
    error: Mutex<Option<FleetError>>,
}

impl Limits {
    fn new() -> Limits {
        Limits {
            reserved: Mutex::new(HashSet::new()),
            stop: Mutex::new(None),
            error: Mutex::new(None),
        }
    }

    fn stopped(&self) -> bool {
        self.stop
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
            || self
                .error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_some()
    }

    fn stop_with(&self, why: String) {
        self.stop
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert(why);
    }

    fn fail(&self, e: FleetError) {
        self.error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert(e);
    }
}

/// What one pass of workers did.
struct Pass {
    stop: Option<String>,
    worked: usize,
}

impl Fleet<'_> {
    /// Opens `wave` to every worker and works it on this process's threads;
    /// when nothing is left to lease, waits for changes other workers hold.
    /// Returns why it stopped early, if it did (a limit, the window, the
    /// error budget).
    pub(crate) fn work(
        &self,
        spec: &Spec,
        engine: &Engine,
        wave: u32,
        done: &AtomicUsize,
        total: usize,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Option<String>> {
        self.store.update_migration(&spec.id, &mut |m| {
            if m.open_wave.is_none_or(|w| w < wave) {
                m.open_wave = Some(wave);
            }
        })?;
        let states = workable(spec.approval);
        let settled = self
            .store
            .changes(&spec.id)?
            .iter()
            .filter(|c| c.wave == wave && !states.contains(&c.state))
            .count();
        done.fetch_add(settled, Ordering::Relaxed);
        loop {
            self.release_dead_workers(&spec.id)?;
            let pass = self.pass(spec, engine, wave, &states, done, total, progress)?;
            if pass.stop.is_some() {
                return Ok(pass.stop);
            }
            // A change waiting on a person (a dirty checkout) is not work
            // this run can finish; the next run or worker pass tries again.
            let busy = self
                .store
                .changes(&spec.id)?
                .iter()
                .any(|c| c.wave <= wave && states.contains(&c.state) && c.waiting.is_none());
            if !busy {
                return Ok(None);
            }
            if pass.worked == 0 {
                // Others hold what is left: wait for them (or their leases).
                std::thread::sleep(POLL);
            }
        }
    }

    /// Frees leases held by processes of this host that have died (a
    /// `tern run` killed with -9), so their changes need not wait.
    fn release_dead_workers(&self, id: &str) -> Result<()> {
        let here = host();
        for owner in self.store.lease_owners(id)? {
            if dead_here(&owner, &here) {
                tracing::info!(%owner, "releasing the leases of a dead worker");
                self.store.release_all(id, &owner)?;
            }
        }
        Ok(())
    }

    /// One pass of this process's threads over what they can lease.
    #[allow(clippy::too_many_arguments)]
    fn pass(
        &self,
        spec: &Spec,
        engine: &Engine,
        wave: u32,
        states: &[ChangeState],
        done: &AtomicUsize,
        total: usize,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Pass> {
        let limits = Limits::new();
        let worked = AtomicUsize::new(0);
        let threads = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .min(spec.rollout.max_in_flight as usize)
            .max(1);
        std::thread::scope(|s| {
            for t in 0..threads {
                let (limits, worked) = (&limits, &worked);
                s.spawn(move || {
                    let me = worker_id(t);
                    while let Some(step) = self.next(spec, engine, wave, states, &me, limits) {
                        worked.fetch_add(1, Ordering::Relaxed);
                        let Worked::Moved(c) = step else {
                            continue;
                        };
                        progress(Progress {
                            phase: "migrating",
                            done: done.fetch_add(1, Ordering::Relaxed) + 1,
                            total,
                            consumer: &c,
                        });
                    }
                });
            }
        });
        if let Some(e) = limits.error.into_inner().unwrap_or_else(|e| e.into_inner()) {
            return Err(e);
        }
        Ok(Pass {
            stop: limits.stop.into_inner().unwrap_or_else(|e| e.into_inner()),
            worked: worked.into_inner(),
        })
    }

    /// Leases one change, works it, gives it back; what became of it, or
    /// `None` when there is nothing to lease or the workers must stop.
    fn next(
        &self,
        spec: &Spec,
        engine: &Engine,
        wave: u32,
        states: &[ChangeState],
        me: &str,
        limits: &Limits,
    ) -> Option<Worked> {
        if limits.stopped() {
            return None;
        }
        let ttl = lease_secs();
        let (mut change, taken_over) = match self.store.lease(&spec.id, wave, states, me, ttl) {
            Ok(Some(l)) => (l.change, l.taken_over),
            Ok(None) => return None,
            Err(e) => {
                limits.fail(e.into());
                return None;
            }
        };
        if let Some(dead) = taken_over.filter(|w| !this_process(w)) {
            // Its worker died holding it: clear what it left in the repo.
            tracing::info!(consumer = %change.consumer, %dead, "taking over a change");
            if let Err(e) = self.forge.sweep(&change.repo) {
                tracing::warn!(consumer = %change.consumer, error = %e, "could not sweep the repository");
            }
        }
        let proposing = change.state == ChangeState::Planned;
        if proposing {
            match self.may_propose(spec, limits, &change.consumer) {
                Ok(None) => {}
                Ok(Some(why)) => {
                    let _ = self.store.release(&spec.id, &change.consumer, me);
                    limits.stop_with(why);
                    return None;
                }
                Err(e) => {
                    limits.fail(e);
                    return None;
                }
            }
        }
        change.worker = Some(me.to_string());
        let consumer = change.consumer.clone();
        let result = self.with_heartbeat(&spec.id, &consumer, me, ttl, || {
            self.advance(spec, engine, &mut change)
        });
        if proposing {
            limits
                .reserved
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&consumer);
        }
        if let Err(e) = result {
            let _ = self.store.release(&spec.id, &change.consumer, me);
            limits.fail(e);
            return None;
        }
        if change.state == ChangeState::Approved || change.waiting.is_some() {
            // It waits on the forge's checks or on a person: keep others off
            // it for a while (the lease lapses by itself), then the next pass
            // asks again.
            let held = secs("TERN_CHECKS_POLL_SECS", CHECKS_POLL);
            return match self.store.renew(&spec.id, &change.consumer, me, held) {
                Ok(_) => Some(Worked::Waiting),
                Err(e) => {
                    limits.fail(e.into());
                    None
                }
            };
        }
        if let Err(e) = self.store.release(&spec.id, &change.consumer, me) {
            limits.fail(e.into());
            return None;
        }
        if change.state == ChangeState::Failed {
            match self.check_budget(spec) {
                Ok(Some(why)) => limits.stop_with(why),
                Ok(None) => {}
                Err(e) => limits.fail(e),
            }
        }
        Some(Worked::Moved(change.consumer))
    }

    /// Runs `f` while a heartbeat keeps the lease alive. The heartbeat
    /// waits on a channel, so it ends the moment `f` does.
    fn with_heartbeat<T>(
        &self,
        id: &str,
        consumer: &str,
        me: &str,
        ttl: i64,
        f: impl FnOnce() -> T,
    ) -> T {
        let (done, beat) = std::sync::mpsc::channel::<()>();
        std::thread::scope(|s| {
            s.spawn(move || {
                let every = Duration::from_secs((ttl as u64 / 3).max(1));
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = beat.recv_timeout(every)
                {
                    if let Err(e) = self.store.renew(id, consumer, me, ttl) {
                        tracing::warn!(consumer, error = %e, "could not renew a lease");
                    }
                }
            });
            let out = f();
            drop(done);
            out
        })
    }

    /// Whether `consumer`'s change may be proposed now, or why not; when
    /// it may, it is reserved. Counts come from the store, so the limits hold
    /// across every worker, plus this process's reservations the store does
    /// not show yet (still planned there).
    fn may_propose(&self, spec: &Spec, limits: &Limits, consumer: &str) -> Result<Option<String>> {
        if let Some(m) = self.store.migration(&spec.id)? {
            if m.state == MigrationState::Paused {
                return Ok(Some(format!(
                    "paused: {}",
                    m.paused_reason.unwrap_or_default()
                )));
            }
        }
        if !in_window(spec.rollout.window.as_ref(), now()) {
            return Ok(Some(
                "outside the rollout window; nothing is proposed until it opens".into(),
            ));
        }
        let mut reserved = limits.reserved.lock().unwrap_or_else(|e| e.into_inner());
        let mut pending = 0;
        for c in reserved.iter() {
            if self
                .store
                .change(&spec.id, c)?
                .is_some_and(|x| x.state == ChangeState::Planned)
            {
                pending += 1;
            }
        }
        if let Some(limit) = spec.rollout.per_hour {
            let proposed =
                self.store
                    .count_entered(&spec.id, ChangeState::Patched, now() - 3600)?
                    + pending;
            if proposed >= limit {
                return Ok(Some(format!(
                    "hourly limit reached: {limit} changes proposed in the last hour"
                )));
            }
        }
        let flying = self.store.count_in(&spec.id, &IN_FLIGHT)? + pending;
        if flying >= spec.rollout.max_in_flight {
            return Ok(Some(format!(
                "{flying} changes in flight (max_in_flight: {}); waiting for approvals",
                spec.rollout.max_in_flight
            )));
        }
        reserved.insert(consumer.to_string());
        Ok(None)
    }

    /// Pauses the campaign when the error budget is spent; returns the reason.
    fn check_budget(&self, spec: &Spec) -> Result<Option<String>> {
        let changes = self.store.changes(&spec.id)?;
        let Some(why) = budget_exceeded(&changes, &spec.rollout.pause_when) else {
            return Ok(None);
        };
        self.store.update_migration(&spec.id, &mut |m| {
            if m.state == MigrationState::Running {
                m.state = MigrationState::Paused;
                m.paused_reason = Some(why.clone());
                m.pauses += 1;
            }
        })?;
        Ok(Some(why))
    }

    /// What `tern worker` does: work every running migration's open waves
    /// until nothing is left (with `once`) or forever, sleeping `idle`
    /// between empty rounds. Returns how many changes it worked.
    pub fn work_everything(
        &self,
        once: bool,
        idle: Duration,
        stop: &AtomicBool,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<usize> {
        let mut total = 0;
        crate::verifier::end_orphans();
        while !stop.load(Ordering::Relaxed) {
            let mut round = 0;
            for m in self.store.migrations()? {
                let Some(wave) = m.open_wave.filter(|_| m.state == MigrationState::Running) else {
                    continue;
                };
                let (spec, rules) = match stored_spec(&m)
                    .and_then(|spec| Ok((campaign_rules(self.store, &m, &spec)?, spec)))
                {
                    Ok((rules, spec)) => (spec, rules),
                    Err(e) => {
                        tracing::warn!(migration = %m.id, error = %e, "skipped");
                        continue;
                    }
                };
                let engine = Engine::new(rules);
                let states = workable(spec.approval);
                let done = AtomicUsize::new(0);
                let pass = self.pass(&spec, &engine, wave, &states, &done, 0, progress)?;
                round += pass.worked;
            }
            total += round;
            if round == 0 {
                if once {
                    break;
                }
                std::thread::sleep(idle);
            }
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_local_worker_is_recognised() {
        let here = host();
        assert!(!dead_here(&worker_id(0), &here), "this process is alive");
        // Find a pid that is not running.
        let dead = (900_000..900_100)
            .find(|p| unsafe { libc::kill(*p, 0) } != 0)
            .unwrap();
        assert!(dead_here(&format!("{here}:{dead}:0"), &here));
        assert!(
            !dead_here(&format!("elsewhere:{dead}:0"), &here),
            "other hosts are not ours to judge"
        );
        assert!(!dead_here("garbage", &here));
    }

    #[test]
    fn open_changes_are_workable_only_under_auto() {
        assert!(workable(Approval::Auto).contains(&ChangeState::Open));
        assert!(!workable(Approval::Owners).contains(&ChangeState::Open));
    }
}
