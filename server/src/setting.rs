//! Reading one setting from the environment: a number in a range, a duration, a choice, a boolean,
//! a variable a provider cannot do without; each failure a `ConfigError` naming its variable. Below
//! `config` (which assembles them) and the SMS providers (which read their own).

use time::Duration;

/// A setting that could not be used; says which variable and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration error in {variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

pub(crate) fn invalid(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        problem: problem.into(),
    }
}

/// A variable the selected provider cannot do without.
pub(crate) fn required(
    get: &impl Fn(&str) -> Option<String>,
    provider: &str,
    variable: &'static str,
) -> Result<String, ConfigError> {
    get(variable).ok_or_else(|| {
        invalid(
            variable,
            format!("the {provider} provider needs {variable}; it is not set"),
        )
    })
}

/// `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`).
pub(crate) fn boolean(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match get(variable).map(|value| value.to_ascii_lowercase()) {
        None => Ok(default),
        Some(value) => match value.as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(invalid(variable, format!("`{value}` is not true or false"))),
        },
    }
}

pub(crate) fn number<T>(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let Some(value) = get(variable) else {
        return Ok(default);
    };
    match value.parse::<T>() {
        Ok(parsed) if range.contains(&parsed) => Ok(parsed),
        _ => Err(invalid(
            variable,
            format!(
                "`{value}` must be a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        )),
    }
}

/// A setting with a few named values: `parse` reads one; `default` when unset.
pub(crate) fn choice<T>(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: T,
    parse: fn(&str) -> Option<T>,
    allowed: &str,
) -> Result<T, ConfigError> {
    match get(variable) {
        None => Ok(default),
        Some(value) => {
            parse(&value).ok_or_else(|| invalid(variable, format!("`{value}` must be {allowed}")))
        }
    }
}

pub(crate) fn duration(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    let Some(value) = get(variable) else {
        return Ok(default);
    };
    let parsed = if value.chars().all(|c| c.is_ascii_digit()) {
        value
            .parse::<u64>()
            .ok()
            .map(std::time::Duration::from_secs)
    } else {
        humantime::parse_duration(&value).ok()
    };
    match parsed.and_then(|parsed| Duration::try_from(parsed).ok()) {
        Some(parsed) if parsed >= Duration::seconds(1) && parsed <= Duration::days(365) => {
            Ok(parsed)
        }
        _ => Err(invalid(
            variable,
            format!("`{value}` must be a duration from 1s to 365d, such as 3600, 90s, 10m or 1h"),
        )),
    }
}

/// How long something outside may take to answer (`TWILIO_TIMEOUT`, …): a duration from 1 s to
/// `longest`; `default` when unset.
pub(crate) fn timeout(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: std::time::Duration,
    longest: std::time::Duration,
) -> Result<std::time::Duration, ConfigError> {
    let fallback = Duration::try_from(default).unwrap_or(Duration::ZERO);
    let timeout =
        std::time::Duration::try_from(duration(get, variable, fallback)?).unwrap_or(default);
    if timeout > longest {
        return Err(invalid(
            variable,
            format!("at most {} s may be given to answer", longest.as_secs()),
        ));
    }
    Ok(timeout)
}

/// Like `duration`, but `0` is allowed and turns the cooldown off (for QA environments).
pub(crate) fn cooldown(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    match get(variable).as_deref() {
        Some("0") => Ok(Duration::ZERO),
        _ => duration(get, variable, default),
    }
}
