# bash completion for bottle-supervisor(1).
# Installed as share/bash-completion/completions/bottle-supervisor (loaded on demand by the
# bash-completion package), or source it from ~/.bashrc. Needs nothing but bash itself.

# COMP_WORDS up to the cursor, with "--opt" "=" "value" (bash splits at '=' by default) joined
# back into "--opt=value". Sets the caller's `words` array and `cword` index.
_bottle_supervisor_words() {
    words=()
    local i w joining=0
    for ((i = 0; i <= COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        if [[ $w == "=" && ${#words[@]} -gt 0 && ${words[-1]} == --* && ${words[-1]} != *=* ]]; then
            words[-1]+="="
            joining=1
        elif ((joining)); then
            words[-1]+=$w
            joining=0
        else
            words+=("$w")
        fi
    done
    cword=$((${#words[@]} - 1))
}

# The bottle spec folder the command line would use: --specs on the line, else `specs` in the
# config file (--config on the line, else the default one), else the XDG default.
_bottle_supervisor_specs_dir() {
    local i word specs="" config=""
    for ((i = 2; i < cword; i++)); do
        word=${words[i]}
        case $word in
            --specs) specs=${words[i + 1]} ;;
            --specs=*) specs=${word#--specs=} ;;
            --config) config=${words[i + 1]} ;;
            --config=*) config=${word#--config=} ;;
        esac
    done
    local config_home=$HOME/.config
    [[ $XDG_CONFIG_HOME == /* ]] && config_home=$XDG_CONFIG_HOME
    if [[ -z $specs ]]; then
        [[ -n $config ]] || config=$config_home/bottle-supervisor/config.toml
        config=${config/#\~/$HOME}
        # Only a top-level `specs = "..."`, i.e. one before the first [table].
        [[ -r $config ]] && specs=$(sed -n -e '/^[[:space:]]*\[/q' \
            -e 's/^[[:space:]]*specs[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$config" 2>/dev/null)
    fi
    [[ -n $specs ]] || specs=$config_home/bottle-supervisor/bottles
    printf '%s\n' "${specs/#\~/$HOME}"
}

# Bottle names: the stems of the folder's *.toml specs (dot files are not specs).
_bottle_supervisor_bottles() {
    local dir f name
    dir=$(_bottle_supervisor_specs_dir)
    [[ -d $dir ]] || return 0
    for f in "$dir"/*.toml; do
        [[ -e $f ]] || continue
        name=${f##*/}
        [[ $name == .* ]] && continue
        printf '%s\n' "${name%.toml}"
    done
}

_bottle_supervisor() {
    local -a words
    local cword
    _bottle_supervisor_words
    local cur=${words[cword]} prev=""
    ((cword > 0)) && prev=${words[cword - 1]}
    COMPREPLY=()

    # The command comes first: options are only accepted after it.
    local command=""
    ((cword > 1)) && command=${words[1]}

    # The value of "--opt VALUE", or of "--opt=VALUE" under the cursor. When bash did not split
    # at '=', the word being replaced still starts with "--opt=", so the replies must too.
    local option=$prev prefix=""
    if [[ $cur == --*=* ]]; then
        option=${cur%%=*}
        cur=${cur#*=}
        [[ ${COMP_WORDS[COMP_CWORD]} == --*=* ]] && prefix="$option="
    fi

    local commands="run status reconcile events validate preflight leases adopt release"
    local paths="--specs --state-dir --socket --smolvm --smolvm-data-dir --config"

    case $option in
        --specs | --state-dir | --smolvm-data-dir)
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
        --config | --socket)
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
        --smolvm)
            compopt -o filenames 2>/dev/null
            if [[ $cur == */* ]]; then
                mapfile -t COMPREPLY < <(compgen -f -- "$cur")
            else
                mapfile -t COMPREPLY < <(compgen -c -- "$cur")
            fi ;;
        --bottle)
            mapfile -t COMPREPLY < <(compgen -W "$(_bottle_supervisor_bottles)" -- "$cur") ;;
        --since | --until)
            mapfile -t COMPREPLY < <(compgen -W "30s 5m 1h 24h 7d" -- "$cur") ;;
        -n | --tail)
            mapfile -t COMPREPLY < <(compgen -W "10 20 50 100" -- "$cur") ;;
        --kind)
            mapfile -t COMPREPLY < <(compgen -W "lease-acquired lease-released created adopted patched verified
                started stopped deleted quarantined drift-killed stray-killed exited error" -- "$cur") ;;
        -o | --output)
            mapfile -t COMPREPLY < <(compgen -W "table wide name" -- "$cur") ;;
        --machine)
            # smolvm's machines, as `smolvm machine ls` would name them, are not ours to list
            # here (it may be slow or absent): complete nothing rather than guess.
            ;;
        *)
            option="" ;;
    esac
    if [[ -n $option ]]; then
        [[ -n $prefix ]] && COMPREPLY=("${COMPREPLY[@]/#/$prefix}")
        return 0
    fi

    local flags
    case $command in
        "")
            if [[ $cur == -* ]]; then
                mapfile -t COMPREPLY < <(compgen -W "--help --version" -- "$cur")
            else
                mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
            fi
            return 0 ;;
        run | preflight) flags="$paths" ;;
        status) flags="--json -o --output -w --watch --all $paths" ;;
        leases | release) flags="--json $paths" ;;
        adopt) flags="--json --machine $paths" ;;
        reconcile) flags="--json --once $paths" ;;
        events) flags="--json -f --follow -n --tail --bottle --kind --since --until $paths" ;;
        validate) flags="--explain --config" ;;
        *) return 0 ;;
    esac
    flags+=" --help --version"

    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$flags" -- "$cur")
        return 0
    fi
    case $command in
        status | adopt | release)
            mapfile -t COMPREPLY < <(compgen -W "$(_bottle_supervisor_bottles)" -- "$cur") ;;
        validate)
            # Spec files, and folders to look into.
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -f -X '!*.toml' -- "$cur"; compgen -d -- "$cur") ;;
    esac
    return 0
}

complete -F _bottle_supervisor bottle-supervisor
