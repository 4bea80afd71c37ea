# A home-manager module: services.bottle-supervisor.
# UNTESTED: nix is not available where this project is built; see etc/nix/README.md.
#
#   imports = [ "${bottle-supervisor-src}/etc/nix/home-manager.nix" ];
#   services.bottle-supervisor = {
#     enable = true;
#     smolvmPackage = inputs.smolvm.packages.${pkgs.system}.default;   # optional
#     settings = { log_level = "debug"; loopback.pool = "127.0.0.16/28"; };
#   };
{ config, lib, pkgs, ... }:

let
  cfg = config.services.bottle-supervisor;
  toml = pkgs.formats.toml { };
  settings = lib.recursiveUpdate
    (lib.optionalAttrs (cfg.smolvmPackage != null) {
      smolvm.bin = "${cfg.smolvmPackage}/bin/smolvm";
    })
    cfg.settings;
in
{
  options.services.bottle-supervisor = {
    enable = lib.mkEnableOption "bottle-supervisor, which keeps smolvm bottles confined to their egress allowlist";

    package = lib.mkOption {
      type = lib.types.package;
      default = pkgs.callPackage ./package.nix { };
      defaultText = lib.literalExpression "pkgs.callPackage ./package.nix { }";
      description = "The bottle-supervisor package.";
    };

    smolvmPackage = lib.mkOption {
      type = lib.types.nullOr lib.types.package;
      default = null;
      description = ''
        smolvm (>= 1.8.0) to run. When set, `smolvm.bin` in the config points at it; otherwise
        `smolvm` is looked up on the user manager's PATH.
      '';
    };

    settings = lib.mkOption {
      type = toml.type;
      default = { };
      example = lib.literalExpression ''
        {
          log_level = "info";
          resync_interval = "30s";
          smolvm.command_timeout = "120s";
          loopback.pool = "127.0.0.16/28";
          backoff = { initial = "1s"; max = "5m"; };
        }
      '';
      description = ''
        The config file, ~/.config/bottle-supervisor/config.toml, as an attribute set; every key
        of bottle-supervisor(1), CONFIGURATION. Empty: no file, all defaults. A change reloads
        the running daemon (SIGHUP).

        Bottle specs are not managed here: the daemon only trusts spec files owned by you and
        not group- or world-writable, which files linked from the Nix store are not. Put them
        in ~/.config/bottle-supervisor/bottles/ yourself (or let bot-bottle do it).
      '';
    };
  };

  config = lib.mkIf cfg.enable {
    home.packages = [ cfg.package ];

    xdg.configFile."bottle-supervisor/config.toml" = lib.mkIf (settings != { }) {
      source = toml.generate "bottle-supervisor-config.toml" settings;
      onChange = ''
        ${pkgs.systemd}/bin/systemctl --user reload bottle-supervisor.service 2>/dev/null || true
      '';
    };

    # The same settings as etc/systemd/user/bottle-supervisor.service.in; its comments say why.
    systemd.user.services.bottle-supervisor = {
      Unit = {
        Description = "bottle-supervisor: keeps smolvm bottles confined to their egress allowlist";
        Documentation = [ "man:bottle-supervisor(1)" ];
        StartLimitIntervalSec = "60s";
        StartLimitBurst = 5;
      };
      Service = {
        Type = "notify";
        NotifyAccess = "main";
        ExecStart = "${cfg.package}/bin/bottle-supervisor run";
        ExecReload = "${pkgs.procps}/bin/kill -HUP $MAINPID";
        WatchdogSec = "30s";
        TimeoutStartSec = "60s";
        TimeoutStopSec = "130s";
        Restart = "on-failure";
        RestartSec = "2s";
        # VMs live in this cgroup: stopping the supervisor must not take them down.
        KillMode = "process";
        OOMPolicy = "continue";
        RuntimeDirectory = "bottle-supervisor";
        RuntimeDirectoryMode = "0700";
        NoNewPrivileges = true;
        SystemCallArchitectures = "native";
        RestrictRealtime = true;
        LockPersonality = true;
        RestrictSUIDSGID = true;
        RestrictAddressFamilies = "AF_UNIX AF_INET AF_INET6 AF_NETLINK AF_VSOCK";
      };
      Install.WantedBy = [ "default.target" ];
    };
  };
}
