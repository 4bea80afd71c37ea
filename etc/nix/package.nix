# bottle-supervisor for nixpkgs: `pkgs.callPackage ./etc/nix/package.nix { }`.
# UNTESTED: nix is not available where this project is built; see etc/nix/README.md.
{ lib
, stdenv
, cmake
, ninja
, pkg-config
, libuv
, sqlite
, tomlplusplus
, spdlog
, fmt
, nlohmann_json
, systemd
, catch2
, procps
, doCheck ? false
}:

stdenv.mkDerivation {
  pname = "bottle-supervisor";
  version = "0.1.0";

  # The repository root (this file is etc/nix/package.nix), without build folders.
  src = lib.cleanSourceWith {
    src = lib.cleanSource ../..;
    filter = path: type: !(type == "directory" && lib.hasPrefix "build" (baseNameOf path));
  };

  nativeBuildInputs = [ cmake ninja pkg-config ];
  # catch2 is Catch2 v2 (catch2_3 is v3), which the tests are written for.
  buildInputs = [ libuv sqlite tomlplusplus spdlog fmt nlohmann_json systemd ]
    ++ lib.optional doCheck catch2;

  cmakeFlags = [
    "-DBS_WERROR=OFF"
    "-DBS_TESTS=${if doCheck then "ON" else "OFF"}"
  ];

  # The tests run the daemon against a smolvm simulator, spawn and signal processes and read
  # /proc; the packaging smoke tests skip themselves without dpkg, groff and systemd-analyze.
  inherit doCheck;

  # The unit's ExecReload names /bin/kill, which NixOS does not have.
  postInstall = ''
    substituteInPlace $out/lib/systemd/user/bottle-supervisor.service \
      --replace-fail "/bin/kill" "${procps}/bin/kill"
  '';

  meta = {
    description = "Keeps smolvm AI-agent bottles confined to their egress allowlist";
    longDescription = ''
      A daemon, run as a systemd user service, that watches a folder of TOML bottle specs and
      smolvm's state database: it leases each bottle a loopback address, creates its smolvm
      machine, patches and verifies the egress allowlist before every start, and kills any VM
      whose booted policy drifts or cannot be verified. Needs smolvm >= 1.8.0 and KVM.
    '';
    mainProgram = "bottle-supervisor";
    # The build needs libsystemd (sd_notify); macOS support exists in the sources but is untested.
    platforms = lib.platforms.linux;
  };
}
