/*
 * A minimal Lua 5.4 command for the exception-handling test guests
 * lua_eh.wasm and lua_eh_legacy.wasm (see ../README.md and ../build.sh).
 *
 *   lua_eh [-e CHUNK]... [SCRIPT [ARG]...]
 *
 * Runs each -e CHUNK in order, then SCRIPT ("-" reads standard input) with
 * the global table `arg` = {[0] = SCRIPT, ARG...}. With neither, it reads a
 * script from standard input. On a Lua error it prints "lua: MESSAGE" and a
 * traceback to stderr and exits 1; bad usage exits 2.
 *
 * Lua raises errors with longjmp. Built with -mllvm -wasm-enable-sjlj, every
 * longjmp (each error) becomes a Wasm throw of the __c_longjmp tag, and
 * every setjmp (each pcall, coroutine resume, and the protected calls below)
 * a handler that catches it and, if it was meant for an outer setjmp, throws
 * it again; so these guests throw across many frames and nested handlers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

static const char *progname = "lua";

/* Message handler: turn the error object into a string with a traceback. */
static int msghandler(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            return 1; /* the __tostring result is the message */
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* Calls the function on top of the stack (below it nargs arguments) under
 * msghandler; on an error prints it to stderr. Returns the lua_pcall status. */
static int docall(lua_State *L, int nargs)
{
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, msghandler);
    lua_insert(L, base);
    int status = lua_pcall(L, nargs, 0, base);
    lua_remove(L, base);
    return status;
}

static int report(lua_State *L, int status)
{
    if (status != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        fprintf(stderr, "%s: %s\n", progname, msg ? msg : "(error object is not a string)");
        fflush(stderr);
        lua_pop(L, 1);
    }
    return status;
}

static int run_chunk(lua_State *L, const char *chunk)
{
    int status = luaL_loadbuffer(L, chunk, strlen(chunk), "=(command line)");
    if (status == LUA_OK)
        status = docall(L, 0);
    return report(L, status);
}

static int run_script(lua_State *L, char **argv, int script, int argc)
{
    /* arg = { [0] = script, argv[script + 1], ... } */
    lua_createtable(L, argc - script - 1, 1);
    for (int i = script; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - script);
    }
    lua_setglobal(L, "arg");

    const char *name = argv[script];
    int status = luaL_loadfile(L, strcmp(name, "-") == 0 ? NULL : name);
    if (status == LUA_OK) {
        int n = 0;
        for (int i = script + 1; i < argc; i++, n++)
            lua_pushstring(L, argv[i]);
        status = docall(L, n);
    }
    return report(L, status);
}

/* Everything that may raise a Lua error runs here, inside lua_pcall. */
static int pmain(lua_State *L)
{
    int argc = (int)lua_tointeger(L, 1);
    char **argv = (char **)lua_touserdata(L, 2);
    int ran = 0;

    luaL_openlibs(L);
    lua_gc(L, LUA_GCRESTART);
    lua_gc(L, LUA_GCGEN, 0, 0);

    int i = 1;
    while (i < argc) {
        if (strcmp(argv[i], "-e") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "%s: '-e' needs an argument\n", progname);
                lua_pushinteger(L, 2);
                return 1;
            }
            if (run_chunk(L, argv[i + 1]) != LUA_OK) {
                lua_pushinteger(L, 1);
                return 1;
            }
            ran = 1;
            i += 2;
        } else if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "%s: unknown option '%s'\n"
                            "usage: %s [-e CHUNK]... [SCRIPT [ARG]...]\n",
                    progname, argv[i], progname);
            lua_pushinteger(L, 2);
            return 1;
        } else {
            break;
        }
    }

    int status = LUA_OK;
    if (i < argc) {
        status = run_script(L, argv, i, argc);
    } else if (!ran) {
        char dash[] = "-";
        char *stdin_argv[] = {dash};
        status = run_script(L, stdin_argv, 0, 1);
    }
    lua_pushinteger(L, status == LUA_OK ? 0 : 1);
    return 1;
}

int main(int argc, char **argv)
{
    lua_State *L = luaL_newstate();
    if (L == NULL) {
        fprintf(stderr, "%s: cannot create state: not enough memory\n", progname);
        return 1;
    }
    lua_gc(L, LUA_GCSTOP);
    lua_pushcfunction(L, pmain);
    lua_pushinteger(L, argc);
    lua_pushlightuserdata(L, argv);
    int status = lua_pcall(L, 2, 1, 0);
    int code;
    if (status != LUA_OK) {
        report(L, status);
        code = 1;
    } else {
        code = (int)lua_tointeger(L, -1);
    }
    lua_close(L);
    fflush(stdout);
    return code;
}
