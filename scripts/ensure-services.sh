#!/usr/bin/env bash
# Makes sure Redis (6379), Mosquitto (1883) and MariaDB (3306: root without a password, database
# `test`) answer on 127.0.0.1, installing them from Debian's packages and starting them when they
# do not. The Google emulators cannot be installed here: the
# test harness checks for them and names what is missing.
set -euo pipefail

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

need_install=()
command -v redis-server >/dev/null || need_install+=(redis-server)
command -v mosquitto >/dev/null || need_install+=(mosquitto)
[ -x /usr/sbin/mariadbd ] || need_install+=(mariadb-server)
if [ ${#need_install[@]} -gt 0 ]; then
  echo "installing ${need_install[*]} from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_install[@]}" >/dev/null
fi

if ! answers 6379; then
  echo "starting redis-server on 127.0.0.1:6379"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no
fi
if ! answers 1883; then
  echo "starting mosquitto on 127.0.0.1:1883"
  mosquitto -d -p 1883
fi

if ! answers 3306; then
  echo "starting mariadbd on 127.0.0.1:3306"
  install -d -o mysql -g mysql /run/mysqld
  if [ ! -d /var/lib/mysql/mysql ]; then
    mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
  fi
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- \
    --user=mysql --bind-address=127.0.0.1 --port=3306
fi

for port in 6379 1883 3306; do
  for _ in $(seq 1 300); do answers "$port" && break; sleep 0.1; done
  answers "$port" || { echo "service on 127.0.0.1:$port did not come up" >&2; exit 1; }
done
# A fresh Debian install lets root in through the Unix socket only: the tests connect over TCP
# as root without a password, to the database `test`.
if ! mariadb -h 127.0.0.1 -u root -e 'CREATE DATABASE IF NOT EXISTS test' 2>/dev/null; then
  echo "letting root in over TCP without a password"
  mariadb -u root -e "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
    GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
    CREATE DATABASE IF NOT EXISTS test;"
fi
echo "redis 127.0.0.1:6379, mosquitto 127.0.0.1:1883 and mariadb 127.0.0.1:3306 answer"
