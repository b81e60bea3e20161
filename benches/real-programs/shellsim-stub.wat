;; tcc-shellsim.wasm (and every program it links) imports shellsim.path_chmod, a host
;; function of the shellsim simulator that backs chmod(2).  This stand-in accepts every
;; call and changes nothing; load it with `--preload shellsim=shellsim-stub.wat`.
(module
  (func (export "path_chmod") (param $path i32) (param $len i32) (param $mode i32) (result i32)
    i32.const 0))
