//! `shopbip console hash-password`: the argon2id PHC string for a `[[console.users]]` entry.

use std::io::{BufRead, IsTerminal, Write};

/// Reads one password from stdin (a prompt, without echo, when stdin is a terminal) and prints
/// its hash on stdout. An empty password is a user error (exit 1).
pub fn hash_password() -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    let password = if stdin.is_terminal() {
        let first = prompt("Password: ")?;
        let again = prompt("Again: ")?;
        if first != again {
            anyhow::bail!("the two passwords differ; nothing printed");
        }
        first
    } else {
        read_line(&mut stdin.lock())?
    };
    if password.is_empty() {
        anyhow::bail!("the password is empty: give one on stdin (or at the prompt)");
    }
    println!("{}", crate::settings::hash_password(&password)?);
    Ok(())
}

/// One line without its line ending (a password may hold spaces, so nothing else is trimmed).
fn read_line(input: &mut impl BufRead) -> anyhow::Result<String> {
    let mut line = String::new();
    input.read_line(&mut line)?;
    let line = line.strip_suffix('\n').unwrap_or(&line);
    Ok(line.strip_suffix('\r').unwrap_or(line).to_owned())
}

/// Asks on stderr with the terminal's echo off (`stty`, so no dependency for it); where `stty`
/// is missing the password is read with echo, after saying so.
fn prompt(label: &str) -> anyhow::Result<String> {
    let stty = |arg: &str| {
        std::process::Command::new("stty")
            .arg(arg)
            .stdin(std::process::Stdio::inherit())
            .status()
            .is_ok_and(|s| s.success())
    };
    let mut err = std::io::stderr();
    let hidden = stty("-echo");
    if !hidden {
        writeln!(err, "(the terminal will show what you type)")?;
    }
    write!(err, "{label}")?;
    err.flush()?;
    let line = read_line(&mut std::io::stdin().lock());
    if hidden {
        stty("echo");
        writeln!(err)?;
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_keeps_its_spaces_but_not_its_ending() {
        assert_eq!(read_line(&mut &b" a b \r\nrest"[..]).unwrap(), " a b ");
        assert_eq!(read_line(&mut &b"pw"[..]).unwrap(), "pw");
        assert_eq!(read_line(&mut &b""[..]).unwrap(), "");
    }
}
