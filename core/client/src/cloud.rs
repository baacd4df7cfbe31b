//! Where the service lives: the national clouds of docs/docs/protocol.md §6, or explicit URLs (the emulator).
//!
//! The rule enforced here: tokens travel over verified HTTPS, except to a loopback address, where plain HTTP
//! is allowed so that the emulator can run without certificates.

use std::fmt;

/// A Microsoft cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cloud {
    /// The global cloud.
    #[default]
    Global,
    /// US Government L4.
    UsGov,
    /// US Government L5 (DoD).
    UsGovDod,
    /// China, operated by 21Vianet.
    China,
}

/// A cloud and the names users call it by: first Connect-MgGraph's environment name (what the PowerShell module
/// offers and completes), then the other names taken (Azure PowerShell's, Azure CLI's, the CLI's lowercase ones).
/// The one table of clouds: the CLI's `--cloud`, the host's `cloud` and the module's `-Environment` all read it.
#[derive(Debug, Clone, Copy)]
pub struct CloudName {
    /// The cloud.
    pub cloud: Cloud,
    /// Connect-MgGraph's name for it.
    pub name: &'static str,
    /// Other names accepted (compared without case, `-`, `_` or spaces).
    pub aliases: &'static [&'static str],
}

/// Every cloud, in the order they are offered.
pub const CLOUDS: &[CloudName] = &[
    CloudName {
        cloud: Cloud::Global,
        name: "Global",
        aliases: &["public", "AzureCloud", "AzureGlobal"],
    },
    CloudName {
        cloud: Cloud::UsGov,
        name: "USGov",
        aliases: &["USGovernment", "AzureUSGovernment", "L4"],
    },
    CloudName {
        cloud: Cloud::UsGovDod,
        name: "USGovDoD",
        aliases: &["DoD", "L5"],
    },
    CloudName {
        cloud: Cloud::China,
        name: "China",
        aliases: &["AzureChinaCloud", "21Vianet"],
    },
];

impl Cloud {
    /// Parses any name of [`CLOUDS`], without regard to case, `-`, `_` or spaces.
    pub fn parse(name: &str) -> Option<Self> {
        let plain = |s: &str| s.to_ascii_lowercase().replace(['-', '_', ' '], "");
        let wanted = plain(name);
        CLOUDS
            .iter()
            .find(|c| plain(c.name) == wanted || c.aliases.iter().any(|a| plain(a) == wanted))
            .map(|c| c.cloud)
    }

    /// Connect-MgGraph's name for this cloud.
    pub fn name(self) -> &'static str {
        CLOUDS
            .iter()
            .find(|c| c.cloud == self)
            .map(|c| c.name)
            .unwrap_or("Global")
    }

    /// The names offered, in order: `Global, USGov, USGovDoD, China`.
    pub fn names() -> String {
        CLOUDS.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
    }
    /// The Graph host.
    pub fn graph_url(self) -> &'static str {
        match self {
            Cloud::Global => "https://graph.microsoft.com",
            Cloud::UsGov => "https://graph.microsoft.us",
            Cloud::UsGovDod => "https://dod-graph.microsoft.us",
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }
    /// The identity platform host.
    pub fn login_url(self) -> &'static str {
        match self {
            Cloud::Global => "https://login.microsoftonline.com",
            Cloud::UsGov | Cloud::UsGovDod => "https://login.microsoftonline.us",
            Cloud::China => "https://login.chinacloudapi.cn",
        }
    }
    /// The token scope: it follows the Graph host, and tokens are not interchangeable across clouds.
    pub fn graph_scope(self) -> String {
        format!("{}/.default", self.graph_url())
    }
    /// The managed-identity `resource` parameter.
    pub fn graph_resource(self) -> &'static str {
        self.graph_url()
    }
    /// Key Vault's resource in this cloud: the audience of the tokens a vault accepts, and the only resource a
    /// vault's 401 challenge may name for a token to be sent (`keyvault::client`).
    pub fn vault_resource(self) -> &'static str {
        match self {
            Cloud::Global => "https://vault.azure.net",
            Cloud::UsGov | Cloud::UsGovDod => "https://vault.usgovcloudapi.net",
            Cloud::China => "https://vault.azure.cn",
        }
    }
    /// The DNS suffix of this cloud's vaults (`https://{name}.vault.azure.net`): a vault token goes only to a
    /// host under it (or to loopback, the emulator).
    pub fn vault_dns_suffix(self) -> &'static str {
        match self {
            Cloud::Global => ".vault.azure.net",
            Cloud::UsGov | Cloud::UsGovDod => ".vault.usgovcloudapi.net",
            Cloud::China => ".vault.azure.cn",
        }
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Cloud::Global => "global",
            Cloud::UsGov => "usgov",
            Cloud::UsGovDod => "usgovdod",
            Cloud::China => "china",
        })
    }
}

/// Graph API version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ApiVersion {
    /// `v1.0`.
    #[default]
    V1,
    /// `beta`.
    Beta,
}

impl ApiVersion {
    /// The path segment.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V1 => "v1.0",
            ApiVersion::Beta => "beta",
        }
    }
    /// Parses `v1.0` / `v1` / `beta`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "v1.0" | "v1" | "1.0" => Some(ApiVersion::V1),
            "beta" => Some(ApiVersion::Beta),
            _ => None,
        }
    }
}

impl EndpointError {
    /// Which setting the URL was given as ("the Graph URL", "the login URL").
    pub fn what(&self) -> &'static str {
        match self {
            EndpointError::NotAUrl { what, .. }
            | EndpointError::Credentials { what, .. }
            | EndpointError::InsecureHttp { what, .. } => what,
        }
    }
}

/// A Graph URL given with the API version at its end (`https://graph.microsoft.com/v1.0`, `.../beta/`), as
/// Graph Explorer and Microsoft's documentation show it: the base URL without the version, and the version.
/// Every request appends the version itself, so a URL that kept it would ask for `/v1.0/v1.0/...`.
pub fn split_graph_version(url: &str) -> (String, Option<ApiVersion>) {
    let trimmed = url.trim().trim_end_matches('/');
    if let Some((base, last)) = trimmed.rsplit_once('/')
        && !base.ends_with('/')
        && !base.ends_with(':')
        && let Some(v) = ApiVersion::parse(last)
    {
        return (base.to_string(), Some(v));
    }
    (url.to_string(), None)
}

/// A URL that may not carry tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EndpointError {
    /// Not a URL.
    #[error("{what} {url:?} is not an absolute http(s) URL")]
    NotAUrl {
        /// Which setting.
        what: &'static str,
        /// The value.
        url: String,
    },
    /// User name or password in the URL.
    #[error(
        "{what} {url} carries a user name or password; give the plain base URL (credentials never go in URLs)"
    )]
    Credentials {
        /// Which setting.
        what: &'static str,
        /// The URL without its credentials.
        url: String,
    },
    /// Plain HTTP to a non-loopback host.
    #[error(
        "{what} {url:?} uses plain http to a host that is not loopback; tokens and proofs only travel over HTTPS (plain http is allowed to 127.0.0.1 / localhost / [::1] for the emulator)"
    )]
    InsecureHttp {
        /// Which setting.
        what: &'static str,
        /// The value.
        url: String,
    },
}

impl EndpointError {
    /// The kind of failure: a URL the caller gave.
    pub fn kind(&self) -> keyroll_proto::ErrorKind {
        keyroll_proto::ErrorKind::Input
    }
}

/// The service endpoints a client talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Graph base, without version or trailing slash.
    pub graph: String,
    /// Identity platform base, without trailing slash.
    pub login: String,
    /// The cloud whose scope tokens are requested for.
    pub cloud: Cloud,
    /// Graph API version.
    pub api_version: ApiVersion,
}

impl Endpoints {
    /// The endpoints of a cloud.
    pub fn cloud(cloud: Cloud) -> Self {
        Endpoints {
            graph: cloud.graph_url().into(),
            login: cloud.login_url().into(),
            cloud,
            api_version: ApiVersion::V1,
        }
    }

    /// Replaces the hosts (e.g. with the emulator's), keeping `cloud` for the token scope.
    pub fn custom(
        cloud: Cloud,
        graph: Option<&str>,
        login: Option<&str>,
    ) -> Result<Self, EndpointError> {
        let mut e = Endpoints::cloud(cloud);
        if let Some(g) = graph {
            e.graph = check_url("the Graph URL", g)?;
        }
        if let Some(l) = login {
            e.login = check_url("the login URL", l)?;
        }
        Ok(e)
    }

    /// `{graph}/{version}`.
    pub fn graph_base(&self) -> String {
        format!("{}/{}", self.graph, self.api_version.as_str())
    }
    /// The token endpoint of a tenant.
    pub fn token_endpoint(&self, tenant: &str) -> String {
        format!("{}/{}/oauth2/v2.0/token", self.login, tenant)
    }
    /// The device authorization endpoint of `tenant` (delegated sign-in by device code).
    pub fn device_code_endpoint(&self, tenant: &str) -> String {
        format!("{}/{}/oauth2/v2.0/devicecode", self.login, tenant)
    }
    /// The identity platform's base URL: the authority a token cache keys sign-ins by.
    pub fn login_base(&self) -> &str {
        &self.login
    }
    /// The scope to request.
    pub fn scope(&self) -> String {
        self.cloud.graph_scope()
    }
}

/// Whether `url` points at this machine: `localhost`, `127.0.0.0/8` or `::1`. Only there may plain http carry
/// a token (and `http::LOOPBACK_NO_PROXY` keeps proxies away from the same addresses).
pub fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Checks a base URL: absolute, http(s), and plain http only to loopback. Returns it without trailing slash.
pub fn check_url(what: &'static str, url: &str) -> Result<String, EndpointError> {
    let trimmed = url.trim().trim_end_matches('/');
    let not_url = || EndpointError::NotAUrl {
        what,
        url: url.to_string(),
    };
    // Parsed as the HTTP client will parse it, so that what is checked is where the request goes (a naive
    // split would read `http://localhost:80@evil.example` as loopback).
    let parsed = reqwest::Url::parse(trimmed).map_err(|_| not_url())?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(EndpointError::Credentials {
            what,
            url: format!(
                "{}://…@{}",
                parsed.scheme(),
                parsed.host_str().unwrap_or("")
            ),
        });
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(not_url());
    }
    if parsed.host().is_none() {
        return Err(not_url());
    }
    let loopback = is_loopback(&parsed);
    match parsed.scheme() {
        "https" => Ok(trimmed.to_string()),
        "http" if loopback => Ok(trimmed.to_string()),
        "http" => Err(EndpointError::InsecureHttp {
            what,
            url: url.to_string(),
        }),
        _ => Err(not_url()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_name_of_the_table_parses_to_its_cloud_and_no_name_is_taken_twice() {
        let mut seen = std::collections::HashSet::new();
        for c in super::CLOUDS {
            assert_eq!(super::Cloud::parse(c.name), Some(c.cloud), "{}", c.name);
            assert_eq!(c.cloud.name(), c.name);
            for a in c.aliases.iter().chain([&c.name]) {
                assert_eq!(
                    super::Cloud::parse(&a.to_ascii_uppercase()),
                    Some(c.cloud),
                    "{a}"
                );
                assert!(seen.insert(a.to_ascii_lowercase()), "{a} twice");
            }
            // The CLI's lowercase name (Display) is one of them.
            assert_eq!(super::Cloud::parse(&c.cloud.to_string()), Some(c.cloud));
        }
        assert_eq!(super::Cloud::names(), "Global, USGov, USGovDoD, China");
        assert_eq!(super::Cloud::parse("Mars"), None);
    }

    use super::*;

    #[test]
    fn http_only_to_loopback() {
        assert!(check_url("x", "http://127.0.0.1:8080/").is_ok());
        assert!(check_url("x", "http://localhost:1").is_ok());
        assert!(check_url("x", "http://[::1]:1").is_ok());
        assert!(matches!(
            check_url("x", "http://graph.example.com"),
            Err(EndpointError::InsecureHttp { .. })
        ));
        assert!(matches!(
            check_url("x", "http://127.0.0.1.evil.example"),
            Err(EndpointError::InsecureHttp { .. })
        ));
        assert!(check_url("x", "ftp://a").is_err());
        assert!(matches!(
            check_url("x", "http://localhost:80@evil.example"),
            Err(EndpointError::Credentials { .. })
        ));
        assert!(matches!(
            check_url("x", "http://localhost.evil.example"),
            Err(EndpointError::InsecureHttp { .. })
        ));
        assert_eq!(check_url("x", "https://h/").unwrap(), "https://h");
    }

    #[test]
    fn clouds() {
        assert_eq!(Cloud::parse("USGov"), Some(Cloud::UsGov));
        assert_eq!(Cloud::parse("AzureChinaCloud"), Some(Cloud::China));
        assert_eq!(
            Cloud::UsGovDod.graph_url(),
            "https://dod-graph.microsoft.us"
        );
        assert_eq!(
            Cloud::UsGov.graph_scope(),
            "https://graph.microsoft.us/.default"
        );
        let e = Endpoints::custom(Cloud::Global, Some("http://127.0.0.1:1/"), None).unwrap();
        assert_eq!(e.graph_base(), "http://127.0.0.1:1/v1.0");
        assert_eq!(e.scope(), "https://graph.microsoft.com/.default");
        assert_eq!(Cloud::Global.vault_resource(), "https://vault.azure.net");
        assert_eq!(
            Cloud::UsGovDod.vault_resource(),
            "https://vault.usgovcloudapi.net"
        );
        assert_eq!(Cloud::China.vault_resource(), "https://vault.azure.cn");
    }
}
