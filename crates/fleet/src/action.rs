//! What a person may do to a change or a campaign, decided once. The fleet
//! refuses through it; the CLI and the portal ask it which actions to offer
//! and answer with its reasons, so a button is shown exactly when pressing
//! it would be allowed.

use tern_catalog::{backstage::user_ref, Change, ChangeState, Migration, MigrationState, Store};

use crate::{FleetError, Result};

/// Something a person does to a campaign or to one of its changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Approve a change and merge it.
    Approve,
    /// Re-run a failed change from the default branch.
    Retry,
    /// Take a change (or the campaign) back out of the fleet.
    RollBack,
    /// Stop proposing until resumed.
    Pause,
    /// Go on after a pause.
    Resume,
}

/// Who acts: the catalog's administrator, or a user the catalog may know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor<'a> {
    /// May do everything, whatever the teams say.
    Admin,
    /// `user:default/alice` or `alice`.
    User(&'a str),
}

impl Action {
    /// Every action, for lookups by word.
    pub const ALL: [Action; 5] = [
        Action::Approve,
        Action::Retry,
        Action::RollBack,
        Action::Pause,
        Action::Resume,
    ];

    /// The word used in routes, commands and messages.
    pub fn word(self) -> &'static str {
        match self {
            Action::Approve => "approve",
            Action::Retry => "retry",
            Action::RollBack => "rollback",
            Action::Pause => "pause",
            Action::Resume => "resume",
        }
    }

    /// The action a route or command word names.
    pub fn parse(word: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.word() == word)
    }

    /// Whether `change`'s state allows this action, and why not.
    pub fn on_change(self, change: &Change) -> Result<()> {
        let c = &change.consumer;
        match self {
            Action::Approve => {
                if !matches!(
                    change.state,
                    ChangeState::Open | ChangeState::NeedsAttention
                ) {
                    return Err(FleetError::State(format!(
                        "{c} is {}; only open or needs_attention changes can be approved",
                        change.state.as_str()
                    )));
                }
                if change.commit.is_none() {
                    return Err(FleetError::State(format!(
                        "{c} has no commit to merge: its references need rewriting by hand (see `tern status {}`)",
                        change.migration
                    )));
                }
                Ok(())
            }
            Action::Retry if change.state != ChangeState::Failed => {
                Err(FleetError::State(format!(
                    "{c} is {}; only failed changes can be retried",
                    change.state.as_str()
                )))
            }
            Action::RollBack
                if matches!(
                    change.state,
                    ChangeState::RolledBack | ChangeState::Closed | ChangeState::Skipped
                ) =>
            {
                Err(FleetError::State(format!(
                    "{c} is {}; there is nothing to roll back",
                    change.state.as_str()
                )))
            }
            Action::Pause | Action::Resume => Err(FleetError::State(format!(
                "{} is done to a migration, not to {c}",
                self.word()
            ))),
            _ => Ok(()),
        }
    }

    /// Whether the campaign's state allows this action, and why not.
    pub fn on_migration(self, m: &Migration) -> Result<()> {
        self.in_state(&m.id, m.state)
    }

    fn in_state(self, id: &str, state: MigrationState) -> Result<()> {
        match self {
            Action::Pause if matches!(state, MigrationState::Done | MigrationState::RolledBack) => {
                Err(FleetError::State(format!(
                    "migration {id} is {}; there is nothing to pause",
                    state_word(state)
                )))
            }
            Action::Resume if state != MigrationState::Paused => Err(FleetError::State(format!(
                "migration {id} is {}, not paused",
                state_word(state)
            ))),
            Action::Retry if state == MigrationState::RolledBack => Err(FleetError::State(
                format!("migration {id} was rolled back; there is nothing to retry"),
            )),
            _ => Ok(()),
        }
    }

    /// What to offer a person on a whole campaign in `state` with `failed`
    /// failed changes: each action allowed there that would change
    /// something (pausing again only rewords the reason; rolling back again
    /// changes nothing; a retry needs a failed change).
    pub fn on_campaign(state: MigrationState, failed: usize) -> Vec<Action> {
        [
            Action::Resume,
            Action::Pause,
            Action::Retry,
            Action::RollBack,
        ]
        .into_iter()
        .filter(|a| a.in_state("", state).is_ok())
        .filter(|a| match a {
            Action::Pause => state != MigrationState::Paused,
            Action::Retry => failed > 0,
            Action::RollBack => state != MigrationState::RolledBack,
            _ => true,
        })
        .collect()
    }

    /// Whether `actor` may do this to something `team` owns (the consumer's
    /// owner for an approval, the migration's owner for the rest). One
    /// policy for every entry point: an admin may do anything; a user must
    /// belong to the owner team; what no team owns only an admin may touch.
    pub fn by(
        self,
        store: &dyn Store,
        actor: Actor<'_>,
        team: Option<&str>,
        on: &str,
    ) -> Result<()> {
        let Actor::User(user) = actor else {
            return Ok(());
        };
        match team {
            Some(team) if store.is_member(team, &user_ref(user))? => Ok(()),
            Some(team) => Err(FleetError::Forbidden(format!(
                "{user} may not {} {on}: only members of {team} may (or an admin)",
                self.word()
            ))),
            None => Err(FleetError::Forbidden(format!(
                "{on} has no owner team, so only an admin may {} it",
                self.word()
            ))),
        }
    }
}

/// A campaign state's word in messages.
pub(crate) fn state_word(s: MigrationState) -> &'static str {
    match s {
        MigrationState::Running => "running",
        MigrationState::Paused => "paused",
        MigrationState::Done => "done",
        MigrationState::RolledBack => "rolled back",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_catalog::{Consumer, Via};

    fn change(state: ChangeState, commit: bool) -> Change {
        let mut c = Change::planned(
            "m",
            &Consumer {
                id: "daily".into(),
                repo: "/r/daily".into(),
                owner: None,
            },
            Via::Catalog,
        );
        c.state = state;
        c.commit = commit.then(|| "abc".into());
        c
    }

    #[test]
    fn the_state_decides_what_a_change_allows() {
        assert!(Action::Approve
            .on_change(&change(ChangeState::Open, true))
            .is_ok());
        let e = Action::Approve
            .on_change(&change(ChangeState::NeedsAttention, false))
            .unwrap_err();
        assert!(e.to_string().contains("no commit to merge"), "{e}");
        assert!(Action::Approve
            .on_change(&change(ChangeState::Merged, true))
            .is_err());
        assert!(Action::Retry
            .on_change(&change(ChangeState::Failed, false))
            .is_ok());
        assert!(Action::Retry
            .on_change(&change(ChangeState::Open, true))
            .is_err());
        assert!(Action::RollBack
            .on_change(&change(ChangeState::Merged, true))
            .is_ok());
        assert!(Action::RollBack
            .on_change(&change(ChangeState::Skipped, false))
            .is_err());
        for a in Action::ALL {
            assert_eq!(Action::parse(a.word()), Some(a));
        }
    }

    #[test]
    fn a_campaign_offers_what_would_change_something() {
        use MigrationState::*;
        let offered = |s, failed| Action::on_campaign(s, failed);
        assert_eq!(offered(Running, 0), [Action::Pause, Action::RollBack]);
        assert_eq!(
            offered(Running, 2),
            [Action::Pause, Action::Retry, Action::RollBack]
        );
        assert_eq!(offered(Paused, 0), [Action::Resume, Action::RollBack]);
        assert_eq!(offered(Done, 1), [Action::Retry, Action::RollBack]);
        assert!(offered(RolledBack, 3).is_empty());
    }

    #[test]
    fn what_no_team_owns_only_an_admin_may_touch() {
        let store = tern_catalog::open("sqlite::memory:").unwrap();
        let batch = tern_catalog::ImportBatch {
            memberships: vec![("group:default/insights".into(), "user:default/alice".into())],
            ..Default::default()
        };
        store.import(&batch).unwrap();
        let team = Some("group:default/insights");
        let a = Action::Approve;
        assert!(a.by(store.as_ref(), Actor::Admin, None, "daily").is_ok());
        assert!(a
            .by(store.as_ref(), Actor::User("alice"), team, "daily")
            .is_ok());
        let e = a
            .by(store.as_ref(), Actor::User("alice"), None, "daily")
            .unwrap_err();
        assert!(matches!(e, FleetError::Forbidden(_)), "{e}");
        let e = a
            .by(store.as_ref(), Actor::User("bob"), team, "daily")
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("bob may not approve daily: only members of group:default/insights"),
            "{e}"
        );
    }
}
