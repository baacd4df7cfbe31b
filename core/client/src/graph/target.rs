//! Addressing: which object's keys change, and the resource path that names it.

use std::fmt;

use uuid::Uuid;

/// What kind of object's keys change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TargetKind {
    /// An application (app registration).
    #[default]
    Application,
    /// A service principal (enterprise application).
    ServicePrincipal,
    /// An agent identity blueprint (an application, addressed through its type cast).
    AgentIdentityBlueprint,
}

impl TargetKind {
    /// Parses `application`, `service-principal`, `agent-blueprint` and the PowerShell spellings.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().replace(['-', '_', ' '], "").as_str() {
            "application" | "app" => Some(TargetKind::Application),
            "serviceprincipal" | "sp" => Some(TargetKind::ServicePrincipal),
            "agentblueprint" | "agentidentityblueprint" | "blueprint" => {
                Some(TargetKind::AgentIdentityBlueprint)
            }
            _ => None,
        }
    }
    fn collection(self) -> &'static str {
        match self {
            TargetKind::Application | TargetKind::AgentIdentityBlueprint => "applications",
            TargetKind::ServicePrincipal => "servicePrincipals",
        }
    }
}

/// How the object is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectRef {
    /// By object id (`id`): what proofs carry as `iss`.
    Id(Uuid),
    /// By client id (`appId`).
    AppId(Uuid),
}

/// The object whose keys change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Target {
    /// Its kind.
    pub kind: TargetKind,
    /// How it is named.
    pub object: ObjectRef,
}

impl Target {
    /// The resource path below the API version, e.g. `applications(appId='…')`.
    pub fn path(&self) -> String {
        let c = self.kind.collection();
        let base = match self.object {
            ObjectRef::Id(id) => format!("{c}/{id}"),
            ObjectRef::AppId(app) => format!("{c}(appId='{app}')"),
        };
        match self.kind {
            TargetKind::AgentIdentityBlueprint => {
                format!("{base}/microsoft.graph.agentIdentityBlueprint")
            }
            _ => base,
        }
    }
    /// The same object, named by its object id.
    pub fn with_object_id(&self, id: Uuid) -> Target {
        Target {
            kind: self.kind,
            object: ObjectRef::Id(id),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            TargetKind::Application => "application",
            TargetKind::ServicePrincipal => "service principal",
            TargetKind::AgentIdentityBlueprint => "agent identity blueprint",
        };
        match self.object {
            ObjectRef::Id(id) => write!(f, "{kind} {id}"),
            ObjectRef::AppId(a) => write!(f, "{kind} with appId {a}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_paths() {
        let id = Uuid::parse_str("11111111-2222-3333-4444-555555555555").unwrap();
        let t = |kind, object| Target { kind, object }.path();
        assert_eq!(
            t(TargetKind::Application, ObjectRef::Id(id)),
            format!("applications/{id}")
        );
        assert_eq!(
            t(TargetKind::Application, ObjectRef::AppId(id)),
            format!("applications(appId='{id}')")
        );
        assert_eq!(
            t(TargetKind::ServicePrincipal, ObjectRef::Id(id)),
            format!("servicePrincipals/{id}")
        );
        assert_eq!(
            t(TargetKind::AgentIdentityBlueprint, ObjectRef::Id(id)),
            format!("applications/{id}/microsoft.graph.agentIdentityBlueprint")
        );
    }
}
