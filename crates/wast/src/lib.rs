//! The `.wast` script runner behind `hoist wast` and the spec tests.
//!
//! A script is a list of directives (define a module, invoke an export,
//! assert a result, a trap, an invalid module, ...). Each directive runs on
//! its own: one that fails is recorded as a [`Failure`] with its position and
//! what was expected, and the run goes on with the next one. Only a script
//! that cannot be read or parsed at all is an `Err`.

#![forbid(unsafe_code)]

mod spectest;
mod values;

use std::collections::HashMap;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;

use anyhow::{anyhow, bail, Context as _, Result};
use hoist::{Engine, Extern, Instance, Linker, Module, Store, Trap, Val};
use wast::core::WastRetCore;
use wast::lexer::Lexer;
use wast::parser::{self, ParseBuffer};
use wast::token::{Id, Span};
use wast::{QuoteWat, Wast, WastDirective, WastExecute, WastInvoke, Wat};

/// The outcome of running one script.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// How many directives did what the script expected.
    pub passed: usize,
    /// The directives that did not, in script order.
    pub failed: Vec<Failure>,
}

impl Report {
    /// Whether every directive passed.
    pub fn is_ok(&self) -> bool {
        self.failed.is_empty()
    }
}

/// One directive that did not do what the script expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// 1-based line of the directive.
    pub line: usize,
    /// 1-based column (in bytes) of the directive.
    pub col: usize,
    /// What was expected and what happened instead.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.col, self.message)
    }
}

/// Runs the script at `path` in a fresh [`WastContext`].
pub fn run_file(path: &Path) -> Result<Report> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read {}", path.display()))?;
    run_str(&path.display().to_string(), &text)
}

/// Runs the script `text` in a fresh [`WastContext`]; `name` is used in parse errors.
pub fn run_str(name: &str, text: &str) -> Result<Report> {
    WastContext::new()?.run_str(name, text)
}

/// Runs the script `text` in a fresh [`WastContext`] on `engine`.
pub fn run_str_with(engine: &Engine, name: &str, text: &str) -> Result<Report> {
    WastContext::with_engine(engine)?.run_str(name, text)
}

/// What a directive amounted to when it did not fail.
enum Status {
    Passed,
    /// Not applicable to a core-wasm runtime (components); not counted.
    Skipped,
}

/// The state a script runs in: one store, a linker holding `spectest` and
/// every `register`ed instance, and the instances and module definitions
/// defined so far.
pub struct WastContext {
    engine: Engine,
    store: Store<()>,
    linker: Linker<()>,
    /// The instance that `invoke`/`get` without a module name refer to.
    current: Option<Instance>,
    /// Instances by their `$id`.
    instances: HashMap<String, Instance>,
    /// `(module definition $id ...)` modules by their `$id`.
    definitions: HashMap<String, Module>,
    /// The last `(module definition ...)`, for `(module instance)` without a name.
    last_definition: Option<Module>,
}

impl WastContext {
    /// A context with a default engine and the `spectest` module defined.
    pub fn new() -> Result<Self> {
        Self::with_engine(&Engine::default())
    }

    /// A context whose modules compile with `engine`.
    pub fn with_engine(engine: &Engine) -> Result<Self> {
        let engine = engine.clone();
        let mut store = Store::new(&engine, ());
        let mut linker = Linker::new(&engine);
        spectest::define(&mut linker, &mut store).context("failed to define `spectest`")?;
        Ok(WastContext {
            engine,
            store,
            linker,
            current: None,
            instances: HashMap::new(),
            definitions: HashMap::new(),
            last_definition: None,
        })
    }

    /// Runs every directive of the script `text`; `name` is used in parse errors.
    pub fn run_str(&mut self, name: &str, text: &str) -> Result<Report> {
        let with_location = |mut err: wast::Error| {
            err.set_path(Path::new(name));
            err.set_text(text);
            anyhow::Error::new(err)
        };
        let mut lexer = Lexer::new(text);
        lexer.allow_confusing_unicode(true);
        let buf = ParseBuffer::new_with_lexer(lexer).map_err(with_location)?;
        let script = parser::parse::<Wast<'_>>(&buf).map_err(with_location)?;

        let mut report = Report::default();
        for directive in script.directives {
            let (line, col) = line_col(directive.span(), text);
            // An engine bug that panics fails this directive, not the script.
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| self.run_directive(directive)))
                .unwrap_or_else(|payload| Err(anyhow!("panicked: {}", panic_message(&*payload))));
            match outcome {
                Ok(Status::Passed) => report.passed += 1,
                Ok(Status::Skipped) => {}
                Err(err) => report.failed.push(Failure {
                    line,
                    col,
                    message: format!("{err:#}"),
                }),
            }
        }
        Ok(report)
    }

    fn run_directive(&mut self, directive: WastDirective<'_>) -> Result<Status> {
        match directive {
            WastDirective::Module(mut module) => {
                if is_component(&module) {
                    return Ok(Status::Skipped);
                }
                let id = module.name();
                let module = self.compile(&mut module)?;
                let instance = self
                    .linker
                    .instantiate(&mut self.store, &module)
                    .context("failed to instantiate module")?;
                self.set_current(id, instance);
            }
            WastDirective::ModuleDefinition(mut module) => {
                if is_component(&module) {
                    return Ok(Status::Skipped);
                }
                let id = module.name();
                let module = self.compile(&mut module)?;
                if let Some(id) = id {
                    self.definitions
                        .insert(id.name().to_string(), module.clone());
                }
                self.last_definition = Some(module);
            }
            WastDirective::ModuleInstance {
                instance, module, ..
            } => {
                let module = match module {
                    Some(id) => self
                        .definitions
                        .get(id.name())
                        .cloned()
                        .ok_or_else(|| anyhow!("no module definition named `{}`", id.name()))?,
                    None => self
                        .last_definition
                        .clone()
                        .ok_or_else(|| anyhow!("no module definition to instantiate"))?,
                };
                let new = self
                    .linker
                    .instantiate(&mut self.store, &module)
                    .context("failed to instantiate module")?;
                self.set_current(instance, new);
            }
            WastDirective::Register { name, module, .. } => {
                let instance = self.instance(module)?;
                self.linker
                    .instance(&mut self.store, name, instance)
                    .with_context(|| format!("failed to register instance as `{name}`"))?;
            }
            WastDirective::Invoke(invoke) => {
                self.invoke(&invoke)?.context("invoke failed")?;
            }
            WastDirective::AssertReturn { exec, results, .. } => {
                let actual = self
                    .execute(exec)?
                    .map_err(|err| anyhow!("expected a return, got error: {err:#}"))?;
                let expected = results
                    .iter()
                    .map(values::ret)
                    .collect::<Result<Vec<_>>>()?;
                self.check_results(&expected, &actual)?;
            }
            WastDirective::AssertTrap { exec, message, .. } => match self.execute(exec)? {
                Ok(vals) => bail!(
                    "expected trap `{message}`, got {}",
                    values::vals_str(&self.store, &vals, &[])
                ),
                Err(err) => check_trap(&err, message)?,
            },
            WastDirective::AssertException { exec, .. } => match self.execute(exec)? {
                Ok(vals) => bail!(
                    "expected an uncaught exception, got {}",
                    values::vals_str(&self.store, &vals, &[])
                ),
                Err(err) if err.downcast_ref::<hoist::WasmException>().is_some() => {}
                Err(err) => bail!("expected an uncaught exception, got error: {err:#}"),
            },
            WastDirective::AssertExhaustion { call, message, .. } => match self.invoke(&call)? {
                Ok(vals) => bail!(
                    "expected exhaustion `{message}`, got {}",
                    values::vals_str(&self.store, &vals, &[])
                ),
                Err(err) => check_trap(&err, message)?,
            },
            WastDirective::AssertInvalid {
                mut module,
                message,
                ..
            } => {
                if is_component(&module) {
                    return Ok(Status::Skipped);
                }
                let bytes = encode(&mut module)?;
                if Module::from_binary(&self.engine, &bytes).is_ok() {
                    bail!("expected invalid module (`{message}`), but it compiled");
                }
            }
            WastDirective::AssertMalformed {
                mut module,
                message,
                ..
            } => {
                if is_component(&module) {
                    return Ok(Status::Skipped);
                }
                // A quoted text module that does not even parse is malformed.
                let Ok(bytes) = module.encode() else {
                    return Ok(Status::Passed);
                };
                if Module::from_binary(&self.engine, &bytes).is_ok() {
                    bail!("expected malformed module (`{message}`), but it compiled");
                }
            }
            WastDirective::AssertUnlinkable {
                mut module,
                message,
                ..
            } => {
                if matches!(module, Wat::Component(_)) {
                    return Ok(Status::Skipped);
                }
                let bytes = module.encode().context("failed to encode module")?;
                let module = Module::from_binary(&self.engine, &bytes).with_context(|| {
                    format!("expected unlinkable module (`{message}`), but it failed to compile")
                })?;
                if self.linker.instantiate(&mut self.store, &module).is_ok() {
                    bail!("expected unlinkable module (`{message}`), but it instantiated");
                }
            }
            other => bail!("unsupported directive `{}`", directive_name(&other)),
        }
        Ok(Status::Passed)
    }

    /// Encodes and compiles a module; either failing fails the directive.
    fn compile(&self, module: &mut QuoteWat<'_>) -> Result<Module> {
        let bytes = encode(module)?;
        Module::from_binary(&self.engine, &bytes).context("failed to compile module")
    }

    fn set_current(&mut self, id: Option<Id<'_>>, instance: Instance) {
        if let Some(id) = id {
            self.instances.insert(id.name().to_string(), instance);
        }
        self.current = Some(instance);
    }

    /// The instance named `id`, or the current one.
    fn instance(&self, id: Option<Id<'_>>) -> Result<Instance> {
        match id {
            Some(id) => self
                .instances
                .get(id.name())
                .copied()
                .ok_or_else(|| anyhow!("no instance named `{}`", id.name())),
            None => self
                .current
                .ok_or_else(|| anyhow!("no module instantiated yet")),
        }
    }

    /// Runs an `invoke`, a module or a `get`. The outer `Err` means the
    /// directive could not be set up (no such export, a module that does not
    /// compile); the inner `Result` is what the operation under test did.
    fn execute(&mut self, exec: WastExecute<'_>) -> Result<Result<Vec<Val>>> {
        match exec {
            WastExecute::Invoke(invoke) => self.invoke(&invoke),
            WastExecute::Wat(mut module) => {
                if matches!(module, Wat::Component(_)) {
                    bail!("components are not supported");
                }
                let bytes = module.encode().context("failed to encode module")?;
                let module = Module::from_binary(&self.engine, &bytes)
                    .context("failed to compile module")?;
                Ok(self
                    .linker
                    .instantiate(&mut self.store, &module)
                    .map(|_| Vec::new()))
            }
            WastExecute::Get { module, global, .. } => {
                let instance = self.instance(module)?;
                let export = instance
                    .get_export(&mut self.store, global)
                    .ok_or_else(|| anyhow!("no export named `{global}`"))?;
                let Extern::Global(g) = export else {
                    bail!("export `{global}` is not a global");
                };
                Ok(Ok(vec![g.get(&mut self.store)]))
            }
        }
    }

    /// Calls an export; outer and inner `Result` as in [`Self::execute`].
    fn invoke(&mut self, invoke: &WastInvoke<'_>) -> Result<Result<Vec<Val>>> {
        let instance = self.instance(invoke.module)?;
        let func = instance
            .get_func(&mut self.store, invoke.name)
            .ok_or_else(|| anyhow!("no function export named `{}`", invoke.name))?;
        let args = invoke
            .args
            .iter()
            .map(|arg| values::arg(&mut self.store, arg))
            .collect::<Result<Vec<_>>>()?;
        let count = func.ty(&self.store).results().len();
        let mut results = vec![Val::I32(0); count];
        Ok(func
            .call(&mut self.store, &args, &mut results)
            .map(|()| results))
    }

    fn check_results(&mut self, expected: &[&WastRetCore<'_>], actual: &[Val]) -> Result<()> {
        let mut ok = expected.len() == actual.len();
        if ok {
            for (e, a) in expected.iter().zip(actual) {
                ok &= values::matches(&mut self.store, e, a)?;
            }
        }
        if !ok {
            bail!(
                "expected {}, got {}",
                values::expecteds_str(expected),
                values::vals_str(&self.store, actual, expected)
            );
        }
        Ok(())
    }
}

fn encode(module: &mut QuoteWat<'_>) -> Result<Vec<u8>> {
    module.encode().context("failed to encode module")
}

fn is_component(module: &QuoteWat<'_>) -> bool {
    matches!(
        module,
        QuoteWat::QuoteComponent(..) | QuoteWat::Wat(Wat::Component(_))
    )
}

/// Passes if `err` is a [`Trap`] whose message contains `expected`.
fn check_trap(err: &anyhow::Error, expected: &str) -> Result<()> {
    let trap = err
        .downcast_ref::<Trap>()
        .or_else(|| err.chain().find_map(|cause| cause.downcast_ref::<Trap>()));
    let Some(trap) = trap else {
        bail!("expected trap `{expected}`, got a non-trap error: {err:#}");
    };
    let actual = trap.to_string();
    if trap_message_matches(&actual, expected) {
        Ok(())
    } else {
        bail!("expected trap `{expected}`, got trap `{actual}`")
    }
}

fn trap_message_matches(actual: &str, expected: &str) -> bool {
    actual.contains(expected)
        // `uninitialized element 2` (bulk.wast) names the table slot, which
        // a trap code cannot carry.
        || (expected.starts_with("uninitialized element") && actual.contains("uninitialized element"))
}

/// 1-based line and column of `span` in `text`.
fn line_col(span: Span, text: &str) -> (usize, usize) {
    let (line, col) = span.linecol_in(text);
    (line + 1, col + 1)
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string payload>".to_string()
    }
}

fn directive_name(directive: &WastDirective<'_>) -> &'static str {
    match directive {
        WastDirective::Module(_) => "module",
        WastDirective::ModuleDefinition(_) => "module definition",
        WastDirective::ModuleInstance { .. } => "module instance",
        WastDirective::AssertMalformed { .. } => "assert_malformed",
        WastDirective::AssertInvalid { .. } => "assert_invalid",
        WastDirective::AssertInvalidCustom { .. } => "assert_invalid_custom",
        WastDirective::Register { .. } => "register",
        WastDirective::Invoke(_) => "invoke",
        WastDirective::AssertTrap { .. } => "assert_trap",
        WastDirective::AssertReturn { .. } => "assert_return",
        WastDirective::AssertExhaustion { .. } => "assert_exhaustion",
        WastDirective::AssertUnlinkable { .. } => "assert_unlinkable",
        WastDirective::AssertException { .. } => "assert_exception",
        WastDirective::AssertSuspension { .. } => "assert_suspension",
        WastDirective::Thread(_) => "thread",
        WastDirective::Wait { .. } => "wait",
        WastDirective::AssertMalformedCustom { .. } => "assert_malformed_custom",
    }
}
