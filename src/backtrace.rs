//! Printing a trap's wasm backtrace for a terminal: bounded, with runs of
//! recursion collapsed, so a hostile or deeply recursive guest cannot
//! flood stderr (names themselves are escaped and cut by `FrameInfo`).

use hoist::FrameInfo;

/// The warning for a module whose address map, read from its file for the
/// backtrace, failed its check: the reason its frames show `<unknown>`
/// offsets. `name` is the module as the command line gave it.
pub fn damaged_map_warning(name: &str, module: &hoist::Module) -> Option<String> {
    module.address_map_damaged().then(|| {
        format!(
            "warning: `{name}`: its address map changed since it was loaded; backtraces will \
             have no wasm offsets"
        )
    })
}

/// The longest repeating cycle of frames that is collapsed (f→f, f→g→f…).
const MAX_CYCLE: usize = 4;
/// A cycle repeated at least this often is printed once plus a count.
const MIN_REPEATS: usize = 3;

/// The backtrace lines, innermost first, numbered by frame.
pub fn lines(frames: &[FrameInfo]) -> Vec<String> {
    lines_with(frames, |_| Vec::new())
}

/// [`lines`], with `details` lines (source locations) after each frame
/// that is printed.
pub fn lines_with(
    frames: &[FrameInfo],
    details: impl Fn(&FrameInfo) -> Vec<String>,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < frames.len() {
        if let Some((cycle, repeats)) = repetition(&frames[i..]) {
            for (j, frame) in frames[i..i + cycle].iter().enumerate() {
                out.push(format!("  {:>3}: {frame}", i + j));
                out.extend(details(frame));
            }
            let names: Vec<String> = frames[i..i + cycle]
                .iter()
                .map(FrameInfo::function)
                .collect();
            out.push(format!(
                "       ... {} more frames of {} (recursion)",
                (repeats - 1) * cycle,
                names.join(" → ")
            ));
            i += repeats * cycle;
        } else {
            out.push(format!("  {i:>3}: {}", frames[i]));
            out.extend(details(&frames[i]));
            i += 1;
        }
    }
    out
}

/// The shortest cycle of functions that starts `frames` and repeats at
/// least [`MIN_REPEATS`] times back to back, and how often it does.
fn repetition(frames: &[FrameInfo]) -> Option<(usize, usize)> {
    let same = |a: &FrameInfo, b: &FrameInfo| {
        a.func_index == b.func_index && a.module_name == b.module_name
    };
    (1..=MAX_CYCLE).find_map(|cycle| {
        let mut repeats = 1;
        while frames.len() >= (repeats + 1) * cycle
            && (0..cycle).all(|k| same(&frames[k], &frames[repeats * cycle + k]))
        {
            repeats += 1;
        }
        (repeats >= MIN_REPEATS).then_some((cycle, repeats))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(index: u32) -> FrameInfo {
        FrameInfo {
            instance: None,
            module_name: Some("m".into()),
            func_index: index,
            func_name: Some(format!("f{index}")),
            module_offset: Some(index),
        }
    }

    #[test]
    fn recursion_is_collapsed() {
        let mut frames = vec![frame(9)];
        frames.extend((0..250).map(|_| frame(1)));
        frames.extend((0..3).flat_map(|_| [frame(2), frame(3)]));
        frames.push(frame(0));
        let lines = lines(&frames);
        assert_eq!(lines[0], "    0: 0x9 - m!f9");
        assert_eq!(lines[1], "    1: 0x1 - m!f1");
        assert_eq!(lines[2], "       ... 249 more frames of m!f1 (recursion)");
        assert_eq!(lines[3], "  251: 0x2 - m!f2");
        assert_eq!(
            lines[5],
            "       ... 4 more frames of m!f2 → m!f3 (recursion)"
        );
        assert_eq!(lines[6], "  257: 0x0 - m!f0");
        assert_eq!(lines.len(), 7);
    }

    #[test]
    fn short_runs_are_kept() {
        let frames = [frame(1), frame(1), frame(2)];
        assert_eq!(lines(&frames).len(), 3);
    }
}
